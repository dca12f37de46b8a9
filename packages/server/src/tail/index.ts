/** Promtail-like file tailing: discovery, readers with positions, Promtail pipeline stages. */
export { createTailManager, compileTailConfig, DEFAULT_POSITIONS_FILE, type TailManager, type TailManagerOptions } from './manager.js';
export type { TailConfig, TailScrapeConfig } from './types.js';
export { SUPPORTED_STAGES } from './stages.js';
