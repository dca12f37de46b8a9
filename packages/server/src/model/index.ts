export * from './attributes.js';
export * from './signals.js';
export * from './labels.js';
export * from './re2.js';
export * from './scrape-config.js';
export * from './duration.js';
export * from './loki-limits.js';
