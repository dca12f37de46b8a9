import { createRequire } from 'node:module';

/**
 * Lookout's version, from the server package's package.json (the one place it is written).
 * src/ and dist/ are both one level below the package root.
 */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
