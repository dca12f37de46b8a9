/** Settings init() hands to the middleware (which may be created before or after init()). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogLevel } from './logger.js';

export interface Runtime {
  accessLog: LogLevel | false;
  /** Serves Prometheus text when init() enabled it. */
  prometheusHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
}

export const runtime: Runtime = { accessLog: 'info', prometheusHandler: undefined };
