// The public API (Express) calling the orders service over HTTP.
// Run with: node --import @lookout/node/register examples/api/server.js
// Environment: OTEL_SERVICE_NAME, LOOKOUT_ENDPOINT, PORT, ORDERS_URL, LOG_LEVEL.
import express from 'express';
import { checks, counter, getLogger, health, lookoutExpress } from '@lookout/node';

const log = getLogger('checkout');
const ordersUrl = process.env.ORDERS_URL ?? 'http://127.0.0.1:3001';
const checkouts = counter('checkouts', { description: 'Checkouts by outcome' });

// The API cannot serve without the orders service: a critical readiness check.
health.register('orders', checks.http(`${ordersUrl}/health`), { timeout: 1000, critical: true });

const app = express();
app.use(lookoutExpress());
app.use(express.json());

app.get('/checkout/:orderId', async (req, res) => {
  const { orderId } = req.params;
  log.info({ order_id: orderId }, 'checkout started');
  try {
    const response = await fetch(`${ordersUrl}/orders/${encodeURIComponent(orderId)}`);
    const body = await response.json();
    if (!response.ok) {
      checkouts.add(1, { outcome: 'failed' });
      log.warn({ order_id: orderId, status: response.status }, 'checkout failed: orders service refused');
      return res.status(response.status === 404 ? 404 : 502).json({ error: body.error ?? 'orders service error' });
    }
    checkouts.add(1, { outcome: 'ok' });
    log.info({ order_id: orderId, amount: body.amount }, 'checkout completed');
    res.json({ order: body, status: 'paid' });
  } catch (error) {
    checkouts.add(1, { outcome: 'error' });
    log.error({ err: error, order_id: orderId }, 'checkout failed: orders service unreachable');
    res.status(503).json({ error: 'orders service unreachable' });
  }
});

app.post('/orders', async (req, res) => {
  const response = await fetch(`${ordersUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item: req.body?.item, amount: req.body?.amount }),
  });
  log.info({ status: response.status }, 'order placed');
  res.status(response.status).json(await response.json());
});

app.get('/slow', async (_req, res) => {
  const response = await fetch(`${ordersUrl}/slow`);
  res.json(await response.json());
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, process.env.HOST ?? '127.0.0.1', () => log.info({ port, orders_url: ordersUrl }, 'api service listening'));
