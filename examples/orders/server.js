// The orders service (Fastify). Run with: node --import @lookout/node/register examples/orders/server.js
// Configuration comes from the environment: OTEL_SERVICE_NAME, LOOKOUT_ENDPOINT, PORT, LOG_LEVEL,
// and optionally REDIS_URL (a view counter and a readiness check), DATABASE_URL (PostgreSQL: an
// audit row per order read and a readiness check) and DEPENDENCY_URL.
import Fastify from 'fastify';
import { checks, counter, getLogger, health, histogram, lookoutFastify } from '@lookout/node';

const log = getLogger('orders');
const ordersCreated = counter('orders.created', { description: 'Orders accepted' });
const orderValue = histogram('orders.value', { description: 'Order value', unit: 'EUR', buckets: [5, 10, 25, 50, 100, 250] });

const orders = new Map([
  ['1', { id: '1', item: 'coffee beans', amount: 12.5 }],
  ['2', { id: '2', item: 'grinder', amount: 89 }],
  ['3', { id: '3', item: 'kettle', amount: 35 }],
]);

// Optional dependency: with DEPENDENCY_URL set, /ready fails while it is unreachable.
if (process.env.DEPENDENCY_URL) health.register('inventory', checks.http(process.env.DEPENDENCY_URL), { timeout: 1000, critical: true });

// Optional Redis (REDIS_URL): counts order views; /ready fails while Redis is down.
let redis;
if (process.env.REDIS_URL) {
  const { Redis } = await import('ioredis');
  redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 500 });
  let lastWarning = 0;
  redis.on('error', (error) => {
    // ioredis reports every reconnection attempt: one line per 30 s is enough.
    if (Date.now() - lastWarning < 30_000) return;
    lastWarning = Date.now();
    log.warn({ err: error }, 'redis unavailable');
  });
  health.register('redis', checks.redis(redis), { timeout: 500, critical: true });
}

// Optional PostgreSQL (DATABASE_URL): every order read is recorded; /ready fails while it is down.
let db;
if (process.env.DATABASE_URL) {
  const { default: pg } = await import('pg');
  db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4, connectionTimeoutMillis: 1000 });
  // An idle client whose server went away reports it here; without a listener it would crash.
  db.on('error', (error) => log.warn({ err: error }, 'postgres connection lost'));
  health.register('postgres', checks.pg(db), { timeout: 1000, critical: true });
}
// The table is created by the first read that reaches the database (concurrent CREATE TABLE IF
// NOT EXISTS statements can collide, so there is one at a time).
let schema;
const ensureSchema = () =>
  (schema ??= db.query('CREATE TABLE IF NOT EXISTS order_reads (order_id text NOT NULL, at timestamptz NOT NULL DEFAULT now())').catch((error) => {
    schema = undefined;
    throw error;
  }));

const app = Fastify({ logger: false });
await app.register(lookoutFastify);

app.get('/orders/:id', async (request, reply) => {
  const { id } = request.params;
  if (id === 'boom') {
    const error = new Error('order store unavailable');
    log.error({ err: error, order_id: id }, 'order lookup failed');
    return reply.code(500).send({ error: error.message });
  }
  const order = orders.get(id);
  if (!order) {
    log.warn({ order_id: id }, 'order not found');
    return reply.code(404).send({ error: 'not found' });
  }
  let views;
  if (redis) {
    try {
      views = await redis.incr(`order:${id}:views`);
    } catch (error) {
      log.warn({ err: error, order_id: id }, 'view counter unavailable');
    }
  }
  let reads;
  if (db) {
    try {
      await ensureSchema();
      await db.query('INSERT INTO order_reads (order_id) VALUES ($1)', [id]);
      const { rows } = await db.query('SELECT count(*)::int AS n FROM order_reads WHERE order_id = $1', [id]);
      reads = rows[0].n;
    } catch (error) {
      log.warn({ err: error, order_id: id }, 'order audit unavailable');
    }
  }
  log.info({ order_id: id, views, reads }, 'order fetched');
  return order;
});

app.post('/orders', async (request, reply) => {
  const body = request.body ?? {};
  const id = String(orders.size + 1);
  const order = { id, item: String(body.item ?? 'unknown'), amount: Number(body.amount ?? 0) };
  orders.set(id, order);
  ordersCreated.add(1, { item: order.item });
  orderValue.record(order.amount);
  log.info({ order_id: id, amount: order.amount }, 'order created');
  return reply.code(201).send(order);
});

app.get('/slow', async () => {
  const ms = 300 + Math.floor(Math.random() * 700);
  await new Promise((resolve) => setTimeout(resolve, ms));
  log.info({ delay_ms: ms }, 'slow request served');
  return { delay_ms: ms };
});

const port = Number(process.env.PORT ?? 3001);
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
log.info({ port }, 'orders service listening');
