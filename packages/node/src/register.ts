/**
 * `node --import @lookout/node/register app.js`: configures everything from environment
 * variables before the application's modules load, and registers the ESM loader hook so
 * instrumentations also patch modules the application imports (not only requires).
 */
import { register } from 'node:module';
import { init } from './init.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
init();
