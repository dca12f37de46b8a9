import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { FileDiscovery, parseFileSdText } from './file-sd.js';
import type { TargetGroup } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'lookout-file-sd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('JSON and YAML files; __meta_filepath on every group; errors name the problem', () => {
  assert.deepEqual(parseFileSdText('[{"targets": ["a:1", "b:2"], "labels": {"env": "x"}}]', '/sd/t.json'), [
    { source: '/sd/t.json:0', targets: ['a:1', 'b:2'], labels: { env: 'x', __meta_filepath: '/sd/t.json' } },
  ]);
  assert.deepEqual(parseFileSdText('- targets: [c:3]\n', '/sd/t.yml'), [{ source: '/sd/t.yml:0', targets: ['c:3'], labels: { __meta_filepath: '/sd/t.yml' } }]);
  assert.throws(() => parseFileSdText('[{"targets": "a:1"}]', 't.json'), /0\.targets/);
  assert.throws(() => parseFileSdText('[{"targets": [], "labels": {"bad-name": "v"}}]', 't.json'), /bad-name/);
  assert.throws(() => parseFileSdText('[]', 't.txt'), /unsupported file extension/);
});

test('globs pick files; a file that becomes invalid keeps its previous targets; refresh sees new files', async () => {
  writeFileSync(join(dir, 'a.json'), '[{"targets": ["a:1"]}]');
  writeFileSync(join(dir, 'ignored.txt'), 'x');
  const updates: TargetGroup[][] = [];
  const discovery = new FileDiscovery([join(dir, '*.json')], 60_000, (groups) => updates.push(groups), pino({ level: 'silent' }));
  await discovery.start();
  try {
    assert.deepEqual(updates.at(-1)!.flatMap((g) => g.targets), ['a:1']);
    writeFileSync(join(dir, 'a.json'), '[{"targets": ');
    writeFileSync(join(dir, 'b.json'), '[{"targets": ["b:1"]}]');
    await discovery.refresh();
    assert.deepEqual(updates.at(-1)!.flatMap((g) => g.targets).sort(), ['a:1', 'b:1']);
    rmSync(join(dir, 'b.json'));
    await discovery.refresh();
    assert.deepEqual(updates.at(-1)!.flatMap((g) => g.targets), ['a:1']);
  } finally {
    discovery.stop();
  }
});
