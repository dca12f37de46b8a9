/** Loki index reads over StreamLabels, against the embedded engine. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRecord } from '../../model/index.js';
import type { Storage } from '../types.js';
import { openClickHouseStorage } from './index.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const SECOND = 1_000_000_000n;

function record(tenant: string, labels: Record<string, string>, ageSeconds: number, body: string): LogRecord {
  return {
    tenant,
    timestamp: NOW_NS - BigInt(ageSeconds) * SECOND,
    observedTimestamp: NOW_NS,
    traceId: '',
    spanId: '',
    flags: 0,
    severityText: '',
    severityNumber: 0,
    serviceName: labels.service_name ?? '',
    streamLabels: labels,
    body,
    bodyType: '',
    eventName: '',
    attributes: [],
    droppedAttributesCount: 0,
    resource: { attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}

describe('log streams (Loki index API)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-log-streams-'));
  let storage: Storage;
  const range = { tenant: 'a', startNs: NOW_NS - 3600n * SECOND, endNs: NOW_NS };

  before(async () => {
    storage = await openClickHouseStorage({ dataDir: dir, retention: { logs: 7, traces: 7, metrics: 7 }, readPoolSize: 1 });
    await storage.appender.appendLogs([
      record('a', { service_name: 'api', env: 'prod' }, 10, '12345'),
      record('a', { service_name: 'api', env: 'prod' }, 70, '1234567890'),
      record('a', { service_name: 'api', env: 'dev' }, 20, 'abc'),
      record('a', { service_name: 'web', env: 'prod', pod: "p'1" }, 30, 'x'),
      record('a', { service_name: 'old' }, 7200, 'too old for the range'),
      record('b', { service_name: 'other-tenant' }, 10, 'hidden'),
    ]);
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('label names and values, per tenant and range, with selectors', async () => {
    assert.deepEqual(await storage.logStreams.labelNames(range), ['env', 'pod', 'service_name']);
    assert.deepEqual(await storage.logStreams.labelValues({ ...range, name: 'service_name' }), ['api', 'web']);
    assert.deepEqual(await storage.logStreams.labelValues({ ...range, name: 'env', selectors: [[{ type: '=', name: 'service_name', value: 'api' }]] }), ['dev', 'prod']);
    assert.deepEqual(await storage.logStreams.labelNames({ ...range, selectors: [[{ type: '=~', name: 'service_name', value: 'a.*' }]] }), ['env', 'service_name']);
    assert.deepEqual(await storage.logStreams.labelValues({ ...range, name: 'nope' }), []);
  });

  test('series: union of selectors, labels sorted', async () => {
    const series = await storage.logStreams.series({
      ...range,
      selectors: [[{ type: '=', name: 'env', value: 'dev' }], [{ type: '=', name: 'pod', value: "p'1" }]],
    });
    assert.deepEqual(series, [
      { env: 'dev', service_name: 'api' },
      { env: 'prod', pod: "p'1", service_name: 'web' },
    ]);
    // `!=` and `!~` match streams without the label, as in Prometheus.
    const noPod = await storage.logStreams.series({ ...range, selectors: [[{ type: '!~', name: 'pod', value: 'p.*' }]] });
    assert.equal(noPod.length, 2);
  });

  test('index stats and volume', async () => {
    assert.deepEqual(await storage.logStreams.indexStats({ ...range, selectors: [[{ type: '=', name: 'service_name', value: 'api' }]] }), {
      streams: 2,
      chunks: 2,
      entries: 3,
      bytes: 18,
    });
    const bySelector = await storage.logStreams.volume({ ...range, selectors: [[{ type: '=~', name: 'service_name', value: '.+' }]], targetLabels: [], aggregateBy: 'series', limit: 100 });
    assert.deepEqual(bySelector.map((s) => [s.labels, s.points.map((p) => p.bytes)]), [
      [{ service_name: 'api' }, [18]],
      [{ service_name: 'web' }, [1]],
    ]);
    const byLabel = await storage.logStreams.volume({ ...range, targetLabels: [], aggregateBy: 'labels', limit: 2 });
    assert.deepEqual(byLabel.map((s) => [s.labels, s.points[0]!.bytes]), [
      [{ env: '' }, 19],
      [{ service_name: '' }, 19],
    ]);
    const ranged = await storage.logStreams.volume({ ...range, selectors: [[{ type: '=', name: 'env', value: 'prod' }]], targetLabels: ['service_name'], aggregateBy: 'series', limit: 10, stepMs: 60_000 });
    assert.equal(ranged[0]!.labels.service_name, 'api');
    assert.equal(ranged[0]!.points.length, 2);
    assert.equal(ranged[0]!.points.reduce((s, p) => s + p.bytes, 0), 15);
  });
});
