#!/usr/bin/env node
// The compiled CLI (npm run build, run by `npm ci` through the root prepare script).
import { runCli } from '../dist/cli/index.js';

await runCli(process.argv);
