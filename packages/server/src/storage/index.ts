/** The storage subsystem's public face: interfaces, and a factory for the ClickHouse implementation. */
export type * from './types.js';
import { openClickHouseStorage } from './clickhouse/index.js';
import { DEFAULT_HEAD_MAX_SAMPLES, DEFAULT_HEAD_WINDOW_MS, withMetricHead } from './head/index.js';
import type { Storage, StorageOptions } from './types.js';

/**
 * ClickHouse storage, with the metric head in front on the embedded engine (the only writer of
 * its data; with a server other writers would leave the head incomplete). The window stays an
 * hour inside the metrics retention, so nothing the head holds is dropped by the TTL on insert.
 */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = await openClickHouseStorage(options);
  if (storage.kind !== 'embedded') return storage;
  const head = options.head ?? { windowMs: DEFAULT_HEAD_WINDOW_MS, maxSamples: DEFAULT_HEAD_MAX_SAMPLES };
  const windowMs = Math.min(head.windowMs, options.retention.metrics * 86_400_000 - 3_600_000);
  return withMetricHead(storage, { windowMs, maxSamples: head.maxSamples });
}
