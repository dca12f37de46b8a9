/**
 * Redaction: a service plants secrets in log fields (nested, under sensitive keys and as value
 * patterns), in messages, in error messages and stacks, in span attributes, exception events,
 * span status and the request URL. None may reach stdout or Lookout; the redacted markers must
 * (so the data did arrive).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openStorage } from '../packages/server/src/storage/index.js';
import { startLookoutProcess, type LookoutProcess } from './support/lookout-process.js';
import { buildNodeSdk, startService, waitFor, type ServiceProcess } from './node-sdk-support.js';

const unique = () => Math.random().toString(36).slice(2, 12);
const SECRETS = {
  password: `pw-${unique()}`,
  nestedApiKey: `key-${unique()}`,
  cookie: `sid-${unique()}`,
  bearer: `btok${unique()}${unique()}`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ${unique()}In0.${unique()}${unique()}`,
  // Valid Luhn numbers (Visa and Mastercard test numbers).
  card: '4111 1111 1111 1111',
  card2: '5500005555555559',
  dbPassword: `dbpw${unique()}`,
  queryToken: `qtok${unique()}`,
  errorToken: `etok${unique()}`,
  statusKey: `skey${unique()}`,
  email: `ada.${unique()}@example.com`,
  listSecret: `ls-${unique()}`,
  spanPassword: `sp-${unique()}`,
};

const FIXTURE = `
import http from 'node:http';
import { trace } from '@opentelemetry/api';
import { getLogger, lookoutHttp } from '@lookout/node';
const S = ${JSON.stringify(SECRETS)};
const log = getLogger('leaky');
const server = http.createServer(lookoutHttp((req, res) => {
  if (req.url.startsWith('/health')) return res.end('ok');
  const span = trace.getActiveSpan();
  span.setAttribute('user.password', S.spanPassword);
  span.setAttribute('note', 'forwarding Bearer ' + S.bearer);
  span.setAttribute('db.connection_string', 'postgres://app:' + S.dbPassword + '@db:5432/shop');
  span.setAttribute('payment.card', S.card);
  span.setAttribute('auth.header', [S.jwt]);
  span.setAttribute('customer.email', S.email);
  const error = new Error('charge failed for card ' + S.card2 + ' using token=' + S.errorToken);
  span.recordException(error);
  span.setStatus({ code: 2, message: 'upstream said api_key=' + S.statusKey });
  log.info({
    user: { name: 'ada', email: S.email, credentials: { password: S.password, nested: { ApiKey: S.nestedApiKey } } },
    headers: { Authorization: 'Bearer ' + S.bearer, Cookie: 'sid=' + S.cookie },
    items: [{ secret: S.listSecret }, 'card ' + S.card],
    note: 'session ' + S.jwt,
  }, 'login with password=' + S.password);
  log.error({ err: error }, 'payment failed');
  res.end('done');
}, { route: () => '/leak' }));
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

let lookout: LookoutProcess;
let service: ServiceProcess;
const startedMs = Date.now();

before(async () => {
  buildNodeSdk();
  lookout = await startLookoutProcess();
  service = await startService({ name: 'leaky', eval: FIXTURE, env: { LOOKOUT_ENDPOINT: lookout.url, LOOKOUT_REDACT_EMAILS: 'true' } });
});

after(async () => {
  await service?.stop();
  await lookout?.stop();
});

function assertNoSecrets(where: string, text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    const variants = [secret, secret.replace(/ /g, ''), JSON.stringify(secret).slice(1, -1)];
    for (const variant of variants) {
      const at = text.indexOf(variant);
      assert.ok(at < 0, `${name} (${variant}) leaked into ${where}: …${text.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  }
}

test('planted secrets reach neither stdout nor Lookout; the redacted records do', async () => {
  const response = await fetch(`${service.url}/leak?token=${SECRETS.queryToken}&page=2`, { headers: { authorization: `Bearer ${SECRETS.bearer}` } }).catch((error: unknown) => {
    throw new Error(`${String(error)}; service output:\n${service.output()}`);
  });
  assert.equal(response.status, 200);
  const traceId = await waitFor('the access line', async () => service.records().find((r) => r.module === 'http')?.trace_id as string | undefined);
  assert.equal(await service.stop(), 'SIGTERM');

  const stdout = service.output();
  assertNoSecrets('stdout', stdout);
  const login = service.records().find((r) => String(r.msg).startsWith('login with'))!;
  assert.equal(login.msg, 'login with password=[REDACTED]');
  assert.deepEqual((login.user as { credentials: unknown }).credentials, '[REDACTED]');
  assert.equal((login.headers as { Authorization: string }).Authorization, '[REDACTED]');
  const payment = service.records().find((r) => r.msg === 'payment failed')!;
  assert.match((payment.err as { message: string }).message, /card \[REDACTED\] using token=\[REDACTED\]/);

  // The trace and logs arrived (looked up live), then the whole storage is searched.
  await waitFor('the trace in Lookout', async () => ((await fetch(`${lookout.url}/api/traces/${traceId}`)).status === 200 ? true : undefined));
  await lookout.stop();
  const storage = await openStorage({ dataDir: lookout.dataDir, retention: { logs: 7, traces: 7, metrics: 30 } });
  try {
    const range = { start: BigInt(startedMs - 60_000) * 1_000_000n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
    const logs = await storage.logs.queryLogs({ tenant: 'default', range, serviceName: 'leaky', limit: 1000 });
    const spans = await storage.spans.getTrace('default', traceId, range);
    const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    assert.ok(logs.some((l) => l.body === 'login with password=[REDACTED]'), json(logs.map((l) => l.body)));
    assert.ok(logs.some((l) => l.body === 'payment failed'));
    assert.ok(spans.length > 0);
    assertNoSecrets('Lookout logs', json(logs));
    assertNoSecrets('Lookout spans', json(spans));
    const spanText = json(spans);
    for (const marker of ['user.password', 'db.connection_string', 'exception']) assert.ok(spanText.includes(marker), `${marker} attribute arrived`);
    assert.ok(spanText.includes('[REDACTED]'));
  } finally {
    await storage.close();
  }
});
