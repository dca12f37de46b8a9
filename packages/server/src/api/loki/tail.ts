/**
 * GET /loki/api/v1/tail (WebSocket): new log lines matching a LogQL log query, framed as Loki
 * frames them (`{"streams":[…]}`, categorize-labels honoured).
 *
 * Lines are found by polling storage through the LogQL engine, not by subscribing to this
 * process's write pipeline: several Lookout instances may share one ClickHouse, and a tail must
 * see lines written by any of them. Each poll reads a short look-back window (entries whose
 * timestamps fall behind it when they arrive are not tailed, as documented) and drops the
 * entries already sent. Polling every 500 ms delivers a stored line within about a second.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LogEntryResult } from '../../logql/index.js';
import type { Labels } from '../../model/index.js';
import { badParam, nowNs, param, parseBounds, parseLimit, type Params } from './params.js';
import { tailMessageJson } from './format.js';
import type { LokiQueryEngine } from './query.js';
import { wantsCategorizedLabels } from './query.js';

export interface LokiTailOptions extends LokiQueryEngine {
  tenantOf: (request: FastifyRequest) => string;
  pollIntervalMs?: number;
  /** How far back each poll looks for entries not yet sent. */
  lookbackMs?: number;
  /** Longest tail session (Loki's tail_max_duration, 1h). */
  maxDurationMs?: number;
}

/** The part of a `ws` WebSocket the tail uses (the package ships no types of its own). */
interface TailSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'close' | 'error', listener: () => void): void;
}

const MAX_DELAY_FOR_SECONDS = 5;
/** Entries read per poll (newest first); more than this per poll interval are not all tailed. */
const POLL_LIMIT = 5000;

interface TailRequest {
  query: string;
  limit: number;
  startNs: bigint;
  delayForNs: bigint;
}

function parseTailRequest(all: Params, classify: LokiQueryEngine['classify']): TailRequest {
  const query = param(all, 'query');
  if (classify(query) !== 'log') throw badParam('tail is only supported for log queries');
  const limit = parseLimit(all);
  const { startNs } = parseBounds(all);
  const delayText = param(all, 'delay_for');
  let delay = 0;
  if (delayText !== '') {
    if (!/^[+-]?\d+$/.test(delayText)) throw badParam(`strconv.Atoi: parsing ${JSON.stringify(delayText)}: invalid syntax`);
    delay = Number(delayText);
    if (delay < 0 || delay > 4294967295) throw badParam(`delay_for value ${delay} is out of range [0, 4294967295]`);
  }
  if (delay > MAX_DELAY_FOR_SECONDS) throw badParam(`delay_for can't be greater than ${MAX_DELAY_FOR_SECONDS}`);
  return { query, limit, startNs, delayForNs: BigInt(delay) * 1_000_000_000n };
}

type Batch = { stream: Labels; entries: LogEntryResult[] }[];

function entryKey(stream: Labels, entry: LogEntryResult): string {
  return `${entry.timestampNs}\u0000${JSON.stringify(stream)}\u0000${JSON.stringify(entry.structuredMetadata)}\u0000${entry.line}`;
}

export async function registerLokiTail(app: FastifyInstance, options: LokiTailOptions): Promise<void> {
  const { engine, classify, tenantOf } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const lookbackNs = BigInt(options.lookbackMs ?? 10_000) * 1_000_000n;
  const maxDurationMs = options.maxDurationMs ?? 3_600_000;

  app.get(
    '/loki/api/v1/tail',
    {
      websocket: true,
      // Parameters are checked before the upgrade, so a bad query gets an HTTP 400 as from Loki.
      preValidation: async (request) => {
        (request as FastifyRequest & { lokiTail?: TailRequest }).lokiTail = parseTailRequest(request.query as Params, classify);
      },
    },
    (socket: TailSocket, request: FastifyRequest) => {
      const tail = (request as FastifyRequest & { lokiTail?: TailRequest }).lokiTail!;
      const tenant = tenantOf(request);
      const categorize = wantsCategorizedLabels(request);
      const sent = new Map<string, bigint>();
      let closed = false;
      let timer: NodeJS.Timeout | undefined;
      const controller = new AbortController();
      const stop = () => {
        closed = true;
        controller.abort();
        if (timer) clearTimeout(timer);
      };
      socket.on('close', stop);
      socket.on('error', stop);
      const deadline = setTimeout(() => socket.close(1000, 'tail max duration reached'), maxDurationMs);
      deadline.unref();
      socket.on('close', () => clearTimeout(deadline));

      const send = (batch: Batch) => {
        if (batch.length === 0 || closed) return;
        socket.send(tailMessageJson(batch, categorize));
      };

      // Newest `limit` entries since `start` first (oldest first), then new ones as they arrive.
      const poll = async (fromNs: bigint, limit: number) => {
        const endNs = nowNs() - tail.delayForNs + 1n;
        const result = await engine.query({ tenant, query: tail.query, startNs: fromNs, endNs, limit, direction: 'backward', signal: controller.signal });
        if (result.value.type !== 'streams') return;
        const fresh: Batch = [];
        for (const { stream, entries } of result.value.streams) {
          const unseen = entries.filter((e) => !sent.has(entryKey(stream, e))).sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
          for (const e of unseen) sent.set(entryKey(stream, e), e.timestampNs);
          if (unseen.length > 0) fresh.push({ stream, entries: unseen });
        }
        // Forget what has left every future window.
        const horizon = endNs - lookbackNs - 1_000_000_000n;
        for (const [key, ts] of sent) if (ts < horizon) sent.delete(key);
        send(fresh);
      };

      const loop = async (first: boolean) => {
        if (closed) return;
        try {
          if (first) await poll(tail.startNs, tail.limit);
          else await poll(nowNs() - tail.delayForNs - lookbackNs, POLL_LIMIT);
        } catch (error) {
          if (closed) return;
          request.log.warn({ err: error }, 'Loki tail query failed');
          socket.close(1011, (error as Error).message.slice(0, 120));
          stop();
          return;
        }
        if (!closed) timer = setTimeout(() => void loop(false), pollIntervalMs);
      };
      void loop(true);
    },
  );
}
