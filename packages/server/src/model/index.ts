export * from './attributes.js';
export * from './signals.js';
export * from './labels.js';
