/**
 * LogQL syntax conformance: parses a corpus and checks each query parses, or fails with the
 * message Loki gives. Sources:
 *  - conformance/logql/corpus.txt (Lookout's corpus from Loki's documented constructs);
 *  - optionally the test cases that ship with @grafana/lezer-logql (test/expression.txt of
 *    github.com/grafana/lezer-logql), passed as --lezer <file>: a case the grammar accepts must
 *    parse here or be refused by one of Loki's own validation rules (listed below, checked
 *    against pkg/logql/syntax), a case it rejects must fail.
 *
 *   npm run conformance:logql [-- --lezer path/to/expression.txt]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogql } from '../../packages/server/src/logql/index.js';

/** Loki refuses these at validation (ParseExpr) although its grammar accepts them. */
const LOKI_VALIDATION = [
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value',
  'invalid regexp parser: at least one named capture must be supplied',
  "sort and sort_desc doesn't allow grouping by",
];

function tryParse(query: string): string | undefined {
  try {
    parseLogql(query);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

let pass = 0;
let total = 0;
const failures: string[] = [];

const corpus = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'corpus.txt'), 'utf8');
for (const line of corpus.split('\n')) {
  const m = /^(ok|error): (.*)$/.exec(line);
  if (!m) continue;
  total++;
  const [query, expected] = m[1] === 'error' ? m[2]!.split(' => ') : [m[2]!, undefined];
  const got = tryParse(query!);
  const ok = m[1] === 'ok' ? got === undefined : got === expected;
  if (ok) pass++;
  else failures.push(`corpus: ${query}\n    expected ${expected ?? 'success'}\n    got      ${got ?? 'success'}`);
}
console.log(`corpus.txt: ${pass}/${total} as Loki`);

const lezerAt = process.argv.indexOf('--lezer');
if (lezerAt !== -1) {
  const text = readFileSync(process.argv[lezerAt + 1]!, 'utf8');
  const cases = [...text.matchAll(/^# (.*)\n\n([\s\S]*?)\n+==> *\n+(.*)$/gm)].map((c) => ({ name: c[1]!, query: c[2]!.trim(), rejects: c[3]!.includes('⚠') }));
  let lezerPass = 0;
  let validation = 0;
  for (const c of cases) {
    const got = tryParse(c.query);
    if (c.rejects ? got !== undefined : got === undefined) lezerPass++;
    else if (!c.rejects && got !== undefined && LOKI_VALIDATION.some((v) => got.includes(v))) {
      lezerPass++;
      validation++;
    } else failures.push(`lezer "${c.name}": ${c.query}\n    got ${got ?? 'success'}`);
  }
  console.log(`lezer-logql cases: ${lezerPass}/${cases.length} (${validation} of them refused by Loki's validation as Loki does)`);
  total += cases.length;
  pass += lezerPass;
}

for (const f of failures) console.log(`FAIL ${f}`);
process.exitCode = pass === total ? 0 : 1;
