import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelabelAction } from '../model/index.js';
import { compileRelabelRegex, relabel, type RelabelRule } from './relabel.js';

function rule(partial: Partial<Omit<RelabelRule, 'regex'>> & { regex?: string; action: RelabelAction }): RelabelRule {
  const regexText = partial.regex ?? '(.*)';
  return {
    sourceLabels: [],
    separator: ';',
    targetLabel: '',
    modulus: 0,
    replacement: '$1',
    ...partial,
    regex: compileRelabelRegex(regexText),
    regexText,
  };
}

test('regexes are anchored and Go syntax is translated', () => {
  assert.ok(compileRelabelRegex('foo').test('foo'));
  assert.ok(!compileRelabelRegex('foo').test('xfoox'));
  assert.ok(!compileRelabelRegex('a|b').test('ab'));
  assert.ok(compileRelabelRegex('(?i)FOO').test('foo'));
  assert.equal(compileRelabelRegex('(?P<host>[^:]+):\\d+').exec('h:1')?.groups?.host, 'h');
  // Prometheus wraps the regex in ^(?s:…)$, so `.` crosses newlines in label values.
  assert.ok(compileRelabelRegex('a.b').test('a\nb'));
});

test('replace joins source labels with the separator and writes the target', () => {
  const labels = { __address__: 'host:9100', a: 'x', b: 'y' };
  assert.deepEqual(relabel(labels, [rule({ action: 'replace', sourceLabels: ['a', 'b'], targetLabel: 'ab' })]), { ...labels, ab: 'x;y' });
  assert.deepEqual(relabel(labels, [rule({ action: 'replace', sourceLabels: ['__address__'], regex: '([^:]+):.*', targetLabel: 'host', replacement: '${1}' })]), { ...labels, host: 'host' });
  // No match: unchanged. Empty result: the target label is deleted.
  assert.deepEqual(relabel(labels, [rule({ action: 'replace', sourceLabels: ['a'], regex: 'z', targetLabel: 'a', replacement: 'q' })]), labels);
  assert.deepEqual(relabel(labels, [rule({ action: 'replace', sourceLabels: ['missing'], targetLabel: 'a' })]), { __address__: 'host:9100', b: 'y' });
  // Target label templates.
  assert.deepEqual(relabel({ k: 'env', v: 'prod' }, [rule({ action: 'replace', sourceLabels: ['k', 'v'], regex: '(.+);(.+)', targetLabel: 'tag_$1', replacement: '$2' })]), { k: 'env', v: 'prod', tag_env: 'prod' });
});

test('keep, drop, keepequal, dropequal', () => {
  const labels = { job: 'node', env: 'prod', copy: 'prod' };
  assert.equal(relabel(labels, [rule({ action: 'keep', sourceLabels: ['job'], regex: 'api' })]), undefined);
  assert.deepEqual(relabel(labels, [rule({ action: 'keep', sourceLabels: ['job'], regex: 'no.*' })]), labels);
  assert.equal(relabel(labels, [rule({ action: 'drop', sourceLabels: ['env'], regex: 'prod' })]), undefined);
  assert.deepEqual(relabel(labels, [rule({ action: 'keepequal', sourceLabels: ['env'], targetLabel: 'copy' })]), labels);
  assert.equal(relabel(labels, [rule({ action: 'dropequal', sourceLabels: ['env'], targetLabel: 'copy' })]), undefined);
});

test('hashmod takes the last 8 bytes of MD5 (vectors from Prometheus relabel_test.go)', () => {
  const shard = (value: string) => relabel({ c: value }, [rule({ action: 'hashmod', sourceLabels: ['c'], modulus: 1000, targetLabel: 'd' })])?.d;
  assert.equal(shard('baz'), '976');
  assert.equal(shard('foo\nbar'), '734');
});

test('labelmap, labeldrop, labelkeep, lowercase, uppercase', () => {
  const labels = { __meta_kubernetes_pod_label_app: 'web', __meta_kubernetes_pod_label_tier: 'front', job: 'x' };
  assert.deepEqual(relabel(labels, [rule({ action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' })]), { ...labels, app: 'web', tier: 'front' });
  assert.deepEqual(relabel(labels, [rule({ action: 'labeldrop', regex: '__meta_.*' })]), { job: 'x' });
  assert.deepEqual(relabel(labels, [rule({ action: 'labelkeep', regex: 'job' })]), { job: 'x' });
  assert.deepEqual(relabel({ a: 'MiXed' }, [rule({ action: 'lowercase', sourceLabels: ['a'], targetLabel: 'l' }), rule({ action: 'uppercase', sourceLabels: ['a'], targetLabel: 'u' })]), { a: 'MiXed', l: 'mixed', u: 'MIXED' });
});
