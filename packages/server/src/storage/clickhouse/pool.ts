import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection, type ChdbExtension } from 'chdb/connection';
import { replaceLoneSurrogates } from './rows.js';
import { LookoutError } from '../../errors.js';

export type QueryParams = Record<string, unknown>;
export type Row = Record<string, unknown>;

/**
 * A connection with a count of the operations queued on it. The embedded engine runs one
 * query per connection at a time, so work goes to the least busy connection and waits its
 * turn there instead of piling into the native layer.
 */
interface Lane {
  client: ClickHouseClient;
  /** Embedded only: chDB's Buffer insert, which skips re-assembling the body into SQL text. */
  rawInsert?: ChdbExtension['rawInsert'];
  busy: number;
  tail: Promise<unknown>;
}

export interface Pool {
  readonly kind: 'embedded' | 'server';
  /** A SELECT with bound parameters; rows as JSON objects. */
  select<T = Row>(sql: string, params?: QueryParams): Promise<T[]>;
  /** DDL or any statement without a result. */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Inserts pre-serialised JSONEachRow text. */
  insertJsonEachRow(table: string, body: string): Promise<void>;
  /** Inserts pre-serialised text in another row format (TabSeparated parses faster for numbers). */
  insertText(table: string, format: InsertFormat, body: string): Promise<void>;
  /**
   * Embedded engine only: inserts a file of Native blocks (native.ts, wal.ts) with one
   * INSERT … SELECT … FROM file(). chDB's Buffer insert takes text formats only, and reading
   * Native costs the engine a fraction of parsing text (docs/BENCHMARKS.md). `columns` absent:
   * the file's own header names them. `token` makes the insert idempotent (deduplication).
   */
  insertNativeFile?(table: string, columns: readonly string[] | undefined, path: string, token: string): Promise<void>;
  /** Embedded engine only: insertNativeFile of one block, through a temporary file. */
  insertNative?(table: string, columns: readonly string[], block: Buffer): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Text formats both engines take as a raw body (chDB's rawInsert accepts only text formats). */
export type InsertFormat = 'JSONEachRow' | 'TabSeparated';

export interface PoolOptions {
  dataDir: string;
  clickhouseUrl?: string;
  /** Connections on the embedded engine's data directory. */
  size: number;
}

// Lookout batches rows itself, so the server-side async insert buffer would only add
// latency; a plain insert is acknowledged once the part is written.
const INSERT_SETTINGS = { async_insert: 0, date_time_input_format: 'best_effort' } as const;
// On the embedded engine the WAL's tables keep a deduplication window for replayed segments
// (wal.ts, migration 6); only those inserts carry a token, and no other insert may be dropped
// as a repeat of earlier data.
const EMBEDDED_INSERT_SETTINGS = { ...INSERT_SETTINGS, deduplicate_insert: 'disable' } as const;

// Table and column names in insertNative come from Lookout's own code, never from requests.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const TOKEN = /^[A-Za-z0-9_.-]+$/;

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

// chdb ships its own copy of @clickhouse/client-common; the two Connection types are the same
// contract from different copies of the package, so TypeScript needs to be told.
function embeddedLane(path: string): Lane {
  const connection = createChdbConnection({ path });
  const chdb = connection.chdb;
  return {
    client: createClient({ connection: connection as unknown as ClientConnection }),
    rawInsert: (params) => chdb.rawInsert(params),
    busy: 0,
    tail: Promise.resolve(),
  };
}

export function openPool(options: PoolOptions): Pool {
  const embedded = options.clickhouseUrl === undefined;
  let lanes: Lane[];
  if (embedded) {
    mkdirSync(options.dataDir, { recursive: true });
    lanes = Array.from({ length: Math.max(1, options.size) }, () => embeddedLane(options.dataDir));
  } else {
    // The HTTP client keeps its own keep-alive socket pool; one client serves all lanes.
    const client = createClient({
      url: options.clickhouseUrl,
      request_timeout: 60_000,
      max_open_connections: Math.max(2, options.size),
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    lanes = [{ client, busy: 0, tail: Promise.resolve() }];
  }
  let closed = false;

  function run<T>(op: (client: ClickHouseClient, lane: Lane) => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new LookoutError('LOOKOUT_ERR_STORAGE_UNAVAILABLE', 'storage is closed'));
    let lane = lanes[0]!;
    for (const candidate of lanes) if (candidate.busy < lane.busy) lane = candidate;
    lane.busy++;
    const chosen = lane;
    // On a server the HTTP pool already parallelises; only the embedded engine needs the queue.
    const start = embedded ? chosen.tail : Promise.resolve();
    const result = start.then(() => op(chosen.client, chosen));
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    chosen.tail = settled;
    void settled.then(() => {
      chosen.busy--;
    });
    return result;
  }

  return {
    kind: embedded ? 'embedded' : 'server',
    select<T>(sql: string, params: QueryParams = {}) {
      return run(async (client) => {
        const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
        return (await result.json()) as T[];
      });
    },
    command(sql: string, params: QueryParams = {}) {
      return run(async (client) => {
        await client.command({ query: sql, query_params: params });
      });
    },
    insertJsonEachRow(table: string, body: string) {
      // One lone surrogate would fail the whole insert (see rows.ts).
      return this.insertText(table, 'JSONEachRow', replaceLoneSurrogates(body));
    },
    insertText(table: string, format: InsertFormat, body: string) {
      if (body.length === 0) return Promise.resolve();
      return run(async (client, lane) => {
        if (lane.rawInsert) {
          // Measured (docs/BENCHMARKS.md): the Buffer path inserts at chDB's own rate; going
          // through the client connection costs a text round trip into one big SQL string.
          await lane.rawInsert({ table, values: Buffer.from(body), format, settings: EMBEDDED_INSERT_SETTINGS });
          return;
        }
        // exec() sends the body as-is; insert() would want objects and re-serialise them.
        const result = await client.exec({
          query: `INSERT INTO ${table} FORMAT ${format}`,
          values: Readable.from([Buffer.from(body)]),
          clickhouse_settings: INSERT_SETTINGS,
        });
        result.stream.destroy();
      });
    },
    ...(embedded
      ? {
          async insertNativeFile(table: string, columns: readonly string[] | undefined, path: string, token: string) {
            const names =
              columns ??
              (await this.select<{ name: string }>(`DESCRIBE TABLE file({path:String}, 'Native')`, { path })).map((r) => r.name);
            for (const name of [table, ...names]) {
              if (!IDENTIFIER.test(name)) throw new Error(`insertNativeFile: not an identifier: ${name}`);
            }
            if (!TOKEN.test(token)) throw new Error(`insertNativeFile: bad token ${token}`);
            const list = names.join(', ');
            await run(async (client) => {
              await client.command({
                query: `INSERT INTO ${table} (${list}) SELECT ${list} FROM file({path:String}, 'Native')`,
                query_params: { path: resolve(path) },
                clickhouse_settings: { ...INSERT_SETTINGS, deduplicate_insert: 'enable', insert_deduplication_token: token },
              });
            });
          },
          async insertNative(table: string, columns: readonly string[], block: Buffer) {
            const id = randomUUID();
            const path = join(options.dataDir, 'insert-blocks', `${id}.native`);
            await mkdir(dirname(path), { recursive: true });
            await writeFile(path, block);
            try {
              await this.insertNativeFile!(table, columns, path, id);
            } finally {
              await rm(path, { force: true });
            }
          },
        }
      : {}),
    async ping() {
      try {
        const rows = await this.select<{ one: number }>('SELECT 1 AS one');
        return rows[0]?.one === 1;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Closing a chDB connection while a query runs can abort the engine: drain first.
      await Promise.all(lanes.map((lane) => lane.tail));
      for (const lane of lanes) await lane.client.close();
    },
  };
}
