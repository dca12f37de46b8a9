import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import type { LogqlResult } from '../../logql/index.js';
import { detectFields, fieldType, lokiDetectedFieldsRoutes, parseJsonFields, parseLogfmtFields } from './detected-fields.js';

describe('detected fields', () => {
  test('types as Loki determines them', () => {
    assert.equal(fieldType('42'), 'int');
    assert.equal(fieldType('-1.5e3'), 'float');
    assert.equal(fieldType('true'), 'boolean');
    assert.equal(fieldType('1h30m'), 'duration');
    assert.equal(fieldType('250ms'), 'duration');
    assert.equal(fieldType('12KB'), 'bytes');
    assert.equal(fieldType('3 MiB'), 'bytes');
    assert.equal(fieldType('hello'), 'string');
  });

  test('json with paths, logfmt', () => {
    assert.deepEqual([...parseJsonFields('{"user":{"id":7,"name":"ann"},"tags":["a"],"ok":true}')!], [
      ['user_id', { value: '7', path: ['user', 'id'] }],
      ['user_name', { value: 'ann', path: ['user', 'name'] }],
      ['ok', { value: 'true', path: ['ok'] }],
    ]);
    assert.equal(parseJsonFields('not json'), undefined);
    assert.deepEqual([...parseLogfmtFields('level=info msg="a b" dur=1.5s flag')!], [['level', 'info'], ['msg', 'a b'], ['dur', '1.5s']]);
    assert.equal(parseLogfmtFields('just words'), undefined);
  });

  const value: LogqlResult['value'] = {
    type: 'streams',
    streams: [
      {
        stream: { app: 'a', trace_id: 't1' },
        entries: [
          { timestampNs: 2n, line: '{"app":"inner","latency":"12ms","status":200}', structuredMetadata: { trace_id: 't1' }, parsed: {} },
          { timestampNs: 1n, line: 'status=500 size=2KB', structuredMetadata: {}, parsed: {} },
        ],
      },
    ],
  };

  test('fields from metadata, json and logfmt, stream label clashes renamed', () => {
    const fields = detectFields(value, 100);
    assert.deepEqual(
      [...fields].map(([name, f]) => [name, f.type, f.values.size, f.parsers, f.jsonPath]),
      [
        ['trace_id', 'string', 1, null, undefined],
        ['app_extracted', 'string', 1, ['json'], ['app']],
        ['latency', 'duration', 1, ['json'], ['latency']],
        ['status', 'int', 2, ['json', 'logfmt'], ['status']],
        ['size', 'bytes', 1, ['logfmt'], undefined],
      ],
    );
    assert.equal(detectFields(value, 2).size, 2);
  });

  test('routes: Loki JSON shapes', async () => {
    const app = Fastify();
    // As the Loki plugin's scope answers LookoutErrors.
    app.setErrorHandler((error: Error & { httpStatus?: number }, _request, reply) => reply.code(error.httpStatus ?? 500).send(error.message));
    await app.register(
      lokiDetectedFieldsRoutes({
        engine: { query: async () => ({ value, stats: { bytesProcessed: 0, linesProcessed: 0, execTimeSeconds: 0 } }) },
        classify: (q) => (q.startsWith('{') ? 'log' : 'metric'),
        tenantOf: () => 'default',
        maxEntriesLimitPerQuery: 5000,
      }),
    );
    const res = await app.inject({ url: `/loki/api/v1/detected_fields?query=${encodeURIComponent('{app="a"}')}` });
    const body = JSON.parse(res.body);
    assert.equal(body.limit, 1000);
    assert.deepEqual(body.fields.find((f: { label: string }) => f.label === 'status'), { label: 'status', type: 'int', cardinality: 2, parsers: ['json', 'logfmt'], jsonPath: ['status'] });
    assert.deepEqual(body.fields.find((f: { label: string }) => f.label === 'trace_id'), { label: 'trace_id', type: 'string', cardinality: 1, parsers: null });
    const values = await app.inject({ url: `/loki/api/v1/detected_field/status/values?query=${encodeURIComponent('{app="a"}')}` });
    assert.deepEqual(JSON.parse(values.body), { values: ['200', '500'], limit: 1000 });
    const metric = await app.inject({ url: `/loki/api/v1/detected_fields?query=${encodeURIComponent('rate({a="b"}[1m])')}` });
    assert.equal(metric.statusCode, 400);
  });
});
