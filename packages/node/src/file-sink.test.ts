import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createFileSink } from './logger.js';

const dir = mkdtempSync(join(tmpdir(), 'lookout-node-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the file sink rotates by size and keeps `count` old files', async () => {
  const sink = createFileSink({ path: join(dir, 'app'), size: '1k', frequency: 'daily', count: 2 });
  const line = JSON.stringify({ level: 'info', msg: 'x'.repeat(200) }) + '\n';
  // pino-roll checks the size after each write: write in bursts so several rotations happen.
  for (let burst = 0; burst < 6; burst++) {
    for (let i = 0; i < 6; i++) sink.write(line, { level: 'info', time: '', msg: '' });
    await new Promise((r) => setTimeout(r, 150));
  }
  sink.close?.();
  await new Promise((r) => setTimeout(r, 300));
  const files = readdirSync(dir).filter((f) => f.startsWith('app')).sort();
  assert.ok(files.length >= 2 && files.length <= 3, `current file plus at most 2 rotated: ${files.join(', ')}`);
  for (const file of files) {
    assert.match(file, /^app\.\d+\.log$/);
    const text = readFileSync(join(dir, file), 'utf8');
    for (const written of text.split('\n').filter(Boolean)) assert.equal(JSON.parse(written).level, 'info');
  }
});
