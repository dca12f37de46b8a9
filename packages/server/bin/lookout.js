#!/usr/bin/env node
// The compiled CLI (built by `npm run build`, which `npm ci` runs through the root prepare script).
import '../dist/cli/entry.js';
