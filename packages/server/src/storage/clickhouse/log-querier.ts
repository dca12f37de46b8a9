/** Log reads: the LogQuerier over otel_logs. */
import type { LogQuerier, LogQuery } from '../types.js';
import { LOG_COLUMNS, logFromRow } from './log-rows.js';
import type { Pool } from './pool.js';

export function createLogQuerier(pool: Pool): LogQuerier {
  return {
    async queryLogs(query: LogQuery) {
      const params: Record<string, unknown> = {
        tenant: query.tenant,
        start: query.range.start.toString(),
        end: query.range.end.toString(),
        limit: query.limit,
      };
      let where = '';
      if (query.serviceName !== undefined) {
        where += ' AND ServiceName = {service:String}';
        params.service = query.serviceName;
      }
      if (query.traceId !== undefined) {
        where += ' AND TraceId = {traceId:String}';
        params.traceId = query.traceId;
      }
      const rows = await pool.select(
        `SELECT ${LOG_COLUMNS} FROM otel_logs
         WHERE TenantId = {tenant:String}
           AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})${where}
         ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
        params,
      );
      return rows.map(logFromRow);
    },
    async countLogs(tenant: string) {
      const rows = await pool.select<{ n: string }>('SELECT count() AS n FROM otel_logs WHERE TenantId = {tenant:String}', {
        tenant,
      });
      return Number(rows[0]?.n ?? 0);
    },
  };
}
