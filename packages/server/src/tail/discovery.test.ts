import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compilePathGlob } from './discovery.js';
import { streamLabelsOf, toLogRecord } from './records.js';
import { newEntry } from './stages.js';

const dir = mkdtempSync(join(tmpdir(), 'lookout-glob-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('globs: * stays in one directory, ** crosses them, dot files match, exclusions apply', async () => {
  for (const f of ['a.log', '.hidden.log', 'b.txt', 'x/c.log', 'x/y/d.log', 'x/y/debug-e.log', 'z/f.log.1']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  symlinkSync(join(dir, 'x'), join(dir, 'link'));
  const rel = (paths: string[]) => paths.map((p) => p.slice(dir.length + 1));
  assert.deepEqual(rel(await compilePathGlob(join(dir, '*.log')).expand()), ['.hidden.log', 'a.log']);
  assert.deepEqual(rel(await compilePathGlob(join(dir, '*/*.log')).expand()), ['link/c.log', 'x/c.log']);
  assert.deepEqual(rel(await compilePathGlob(join(dir, 'x/**/*.log'), join(dir, 'x/**/debug-*.log')).expand()), ['x/c.log', 'x/y/d.log']);
  assert.deepEqual(rel(await compilePathGlob(join(dir, '{a,b}.*')).expand()), ['a.log', 'b.txt']);
  assert.deepEqual(rel(await compilePathGlob(join(dir, 'a.log')).expand()), ['a.log']);
  assert.deepEqual(await compilePathGlob(join(dir, 'missing/*.log')).expand(), []);
});

test('stream labels: __ labels dropped, service_name discovered as Loki 3 does', () => {
  assert.deepEqual(streamLabelsOf({ job: 'j', __path__: '/x', filename: '/x' }), { job: 'j', filename: '/x', service_name: 'j' });
  assert.equal(streamLabelsOf({ job: 'j', app: 'a', container: 'c' }).service_name, 'a');
  assert.equal(streamLabelsOf({ job: 'j', service_name: 'given' }).service_name, 'given');
  assert.equal(streamLabelsOf({ filename: '/x' }).service_name, 'unknown_service');
  const entry = newEntry({ job: 'j', level: 'WARN' }, 'body', 5n, 0, 5);
  entry.structuredMetadata.trace = 'abc';
  const record = toLogRecord(entry, 7n);
  assert.equal(record.severityText, 'WARN');
  assert.equal(record.severityNumber, 13);
  assert.equal(record.timestamp, 5n);
  assert.equal(record.observedTimestamp, 7n);
  assert.deepEqual(record.attributes, [{ key: 'trace', value: { stringValue: 'abc' } }]);
});
