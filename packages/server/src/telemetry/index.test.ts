import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServerMetrics } from './index.js';

test('the write-ahead log figures are read at scrape time', async () => {
  let stored = 10;
  const metrics = createServerMetrics({
    processMetrics: false,
    writeAheadLog: () => ({ pendingBytes: 2048, pendingRows: 7, pendingSegments: 1, storedRows: { otel_logs: stored, metric_samples: 3 }, failedSegments: 0 }),
  });
  let text = await metrics.registry.metrics();
  assert.match(text, /^lookout_wal_pending_bytes 2048$/m);
  assert.match(text, /^lookout_wal_pending_rows 7$/m);
  assert.match(text, /^lookout_wal_stored_rows_total\{table="otel_logs"\} 10$/m);
  assert.match(text, /^lookout_wal_stored_rows_total\{table="metric_samples"\} 3$/m);
  assert.match(text, /^lookout_wal_failed_segments_total 0$/m);
  stored = 25;
  text = await metrics.registry.metrics();
  assert.match(text, /^lookout_wal_stored_rows_total\{table="otel_logs"\} 25$/m);
});

test('without a write-ahead log there are no wal series', async () => {
  const text = await createServerMetrics({ processMetrics: false }).registry.metrics();
  assert.doesNotMatch(text, /lookout_wal_/);
});
