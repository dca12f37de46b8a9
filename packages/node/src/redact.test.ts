import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, Redactor, luhnValid } from './redact.js';

const redactor = new Redactor();

test('sensitive keys are masked at any depth, case-insensitively, across separator styles', () => {
  const input = {
    user: 'ada',
    password: 'hunter2',
    nested: { deeper: { API_KEY: 'k-123', 'x-api-key': 'k-456', apiKey: 'k-789', clientSecret: 's1' } },
    headers: { Authorization: 'Basic abc', Cookie: 'sid=1', 'set-cookie': ['a=b'] },
    list: [{ token: 't1' }, { dbPassword: 'p2' }],
    count: 3,
  };
  const out = redactor.redact(input);
  assert.equal(out.user, 'ada');
  assert.equal(out.password, REDACTED);
  assert.deepEqual(out.nested.deeper, { API_KEY: REDACTED, 'x-api-key': REDACTED, apiKey: REDACTED, clientSecret: REDACTED });
  assert.deepEqual(out.headers, { Authorization: REDACTED, Cookie: REDACTED, 'set-cookie': REDACTED });
  assert.deepEqual(out.list, [{ token: REDACTED }, { dbPassword: REDACTED }]);
  assert.equal(out.count, 3);
  assert.equal(input.password, 'hunter2', 'the input is not modified');
});

test('value patterns: bearer tokens, JWTs, key=value pairs, URL credentials, cards with Luhn', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  const text = `auth Bearer abcdef0123456789xyz and ${jwt}; login password=hunter2&user=ada url postgres://app:s3cr3t@db:5432/x card 4111 1111 1111 1111 not-card 4111 1111 1111 1112`;
  const out = redactor.redactString(text);
  for (const secret of ['abcdef0123456789xyz', jwt, 'hunter2', 's3cr3t', '4111 1111 1111 1111']) assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  assert.ok(out.includes('4111 1111 1111 1112'), 'a number failing the Luhn check stays');
  assert.ok(out.includes('user=ada'));
  assert.ok(out.includes('postgres://app:[REDACTED]@db:5432/x'));
});

test('emails are masked only when enabled; extra keys and patterns apply', () => {
  assert.equal(redactor.redactString('mail ada@example.com'), 'mail ada@example.com');
  const strict = new Redactor({ emails: true, extraKeys: ['ssnNumber'], patterns: [/ACME-\d+/] });
  assert.equal(strict.redactString('mail ada@example.com ACME-42'), `mail ${REDACTED} ${REDACTED}`);
  assert.deepEqual(strict.redact({ ssn_number: '1' }), { ssn_number: REDACTED });
});

test('errors become type, message and stack, redacted; cycles and depth are bounded', () => {
  const error = new TypeError('token=abc123 rejected');
  const out = redactor.redact({ err: error }) as unknown as { err: { type: string; message: string; stack: string } };
  assert.equal(out.err.type, 'TypeError');
  assert.equal(out.err.message, `token=${REDACTED} rejected`);
  assert.ok(!out.err.stack.includes('abc123'));
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.deepEqual(redactor.redact(cyclic), { a: 1, self: '[Truncated]' });
});

test('in-place redaction skips trusted fields and can be turned off', () => {
  const record = { trace_id: '4111111111111111', msg: 'card 4111111111111111', password: 'x' };
  redactor.redactInPlace(record, new Set(['trace_id']));
  assert.deepEqual(record, { trace_id: '4111111111111111', msg: `card ${REDACTED}`, password: REDACTED });
  const off = new Redactor({ enabled: false });
  assert.deepEqual(off.redact({ password: 'x' }), { password: 'x' });
});

test('repeated values are answered from the cache with the same result; the cache stays bounded', () => {
  const local = new Redactor({ emails: true });
  for (let round = 0; round < 3; round++) {
    assert.equal(local.redactString('login password=hunter2 ok'), `login password=${REDACTED} ok`);
    assert.equal(local.redactString('mail ada@example.com'), `mail ${REDACTED}`);
    assert.equal(local.redactString('GET /orders/42 200'), 'GET /orders/42 200');
  }
  // Far more distinct values than the cache holds: every answer stays right.
  for (let i = 0; i < 10_000; i++) assert.equal(local.redactString(`token=t${i}xyz`), `token=${REDACTED}`);
  assert.equal(local.redactString('login password=hunter2 ok'), `login password=${REDACTED} ok`);
  const long = `${'x'.repeat(300)} Bearer abcdefghijklmnop`;
  assert.equal(local.redactString(long), `${'x'.repeat(300)} Bearer ${REDACTED}`);
  assert.ok((local as unknown as { valueCache: Map<string, string> }).valueCache.size <= 4096);
});

test('Luhn check', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('5500005555555559'), true);
  assert.equal(luhnValid('4111111111111112'), false);
});
