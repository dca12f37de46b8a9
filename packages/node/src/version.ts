import { readFileSync } from 'node:fs';

/** This package's version (instrumentation scope version, start-up log). */
export const SDK_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const SDK_NAME = '@lookout/node';
