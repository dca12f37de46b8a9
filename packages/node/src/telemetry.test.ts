import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Redactor } from './redact.js';
import { CountingSpanExporter, RedactingSpanProcessor, stats } from './telemetry.js';

test('span attributes, exception events and status messages are redacted before export', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(new Redactor()), new SimpleSpanProcessor(exporter)] });
  const span = provider.getTracer('t').startSpan('login');
  span.setAttributes({
    'user.password': 'hunter2',
    'http.request.header.authorization': ['Bearer abcdefghijkl'],
    'url.full': 'https://shop/api?token=abc123&page=2',
    'db.statement': 'SELECT 1',
    'retry.count': 3,
  });
  span.recordException(new Error('card 4111 1111 1111 1111 declined'));
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'api_key=zzz999 rejected' });
  span.end();
  const [exported] = exporter.getFinishedSpans();
  assert.ok(exported);
  assert.equal(exported.attributes['user.password'], '[REDACTED]');
  assert.equal(exported.attributes['http.request.header.authorization'], '[REDACTED]');
  assert.equal(exported.attributes['url.full'], 'https://shop/api?token=[REDACTED]&page=2');
  assert.equal(exported.attributes['db.statement'], 'SELECT 1');
  assert.equal(exported.attributes['retry.count'], 3);
  assert.equal(exported.events[0]!.attributes!['exception.message'], 'card [REDACTED] declined');
  assert.ok(!String(exported.events[0]!.attributes!['exception.stacktrace']).includes('4111 1111'));
  assert.equal(exported.status.message, 'api_key=[REDACTED] rejected');
  await provider.shutdown();
});

test('request.id (a validated id the SDK sets) is not scanned; other strings and string arrays are', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(new Redactor()), new SimpleSpanProcessor(exporter)] });
  const span = provider.getTracer('t').startSpan('GET');
  span.setAttributes({ 'request.id': 'req-4111111111111111', 'http.target': '/pay?card=4111111111111111', 'tags': ['token=abc12345', 'plain'], 'ok': true });
  span.end();
  const [exported] = exporter.getFinishedSpans();
  assert.equal(exported!.attributes['request.id'], 'req-4111111111111111');
  assert.equal(exported!.attributes['http.target'], '/pay?card=[REDACTED]');
  assert.deepEqual(exported!.attributes['tags'], ['token=[REDACTED]', 'plain']);
  assert.equal(exported!.attributes['ok'], true);
  await provider.shutdown();
});

test('failed exports are counted as dropped, successful ones as exported', () => {
  let next: ExportResult = { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED') };
  const inner: SpanExporter = { export: (_spans, done) => done(next), shutdown: async () => {} };
  const counting = new CountingSpanExporter(inner);
  const before = structuredClone(stats);
  const spans = [{}, {}, {}] as unknown as ReadableSpan[];
  counting.export(spans, () => {});
  next = { code: ExportResultCode.SUCCESS };
  counting.export(spans.slice(0, 1), () => {});
  assert.equal(stats.dropped.spans - before.dropped.spans, 3);
  assert.equal(stats.exported.spans - before.exported.spans, 1);
  assert.equal(stats.lastError, 'connect ECONNREFUSED');
});
