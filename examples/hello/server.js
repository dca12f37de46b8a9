// A hello-world HTTP server, used by bench/node-overhead.ts. Plain by default; run it with
// `node --import @lookout/node/register` to instrument it, and HELLO_MIDDLEWARE=1 to also use
// the request-context middleware (request id, duration histogram, access line).
import { createServer } from 'node:http';

// HELLO_WORK: iterations of fixed CPU work per request (200,000 took ~0.25 ms of CPU on the benchmark
// machine), to compare the SDK's per-request cost with a handler that does something.
const work = Number(process.env.HELLO_WORK ?? 0);

function burn(iterations) {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  return x;
}

const hello = (_req, res) => {
  const x = work > 0 ? burn(work) : 0;
  res.setHeader('content-type', 'text/plain');
  res.end(x === 1 ? 'hello world!\n' : 'hello world\n');
};

let handler = hello;
if (process.env.HELLO_MIDDLEWARE === '1') {
  const { lookoutHttp } = await import('@lookout/node');
  handler = lookoutHttp(hello, { route: () => '/' });
}

const server = createServer(handler);
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 3002), '127.0.0.1', () => {
  if (process.send) process.send('listening');
});
