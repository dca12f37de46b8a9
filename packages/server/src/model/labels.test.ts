import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLegacyLabelName } from './labels.js';

test('legacy label names: [a-zA-Z_][a-zA-Z0-9_]*', () => {
  for (const ok of ['a', '_x', '__name__', 'job_1']) assert.ok(isLegacyLabelName(ok), ok);
  for (const bad of ['', '1a', 'a-b', 'a.b', 'é']) assert.ok(!isLegacyLabelName(bad), bad);
});
