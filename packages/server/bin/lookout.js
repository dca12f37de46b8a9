#!/usr/bin/env -S node --max-semi-space-size=64
// A larger young generation: ingest allocates many short-lived objects, and the default
// semi-space made garbage collection a third of the main thread (docs/BENCHMARKS.md).
// The compiled CLI (built by `npm run build`, which `npm ci` runs through the root prepare script).
import '../dist/cli/entry.js';
