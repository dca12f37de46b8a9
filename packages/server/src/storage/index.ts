/** The storage subsystem's public face: interfaces, and a factory for the ClickHouse implementation. */
export type * from './types.js';
export { openClickHouseStorage as openStorage } from './clickhouse/index.js';
