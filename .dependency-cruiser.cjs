/**
 * The dependency direction of packages/server/src (docs/ARCHITECTURE.md):
 *   model, errors, telemetry ← config, storage, ingest ← pipeline, traces, promql, logql ← scrape, tail ← api ← main ← cli
 * and every subsystem is entered only through its index.ts. errors.ts and version.ts are leaves
 * anyone may import.
 */
const SRC = '^packages/server/src/';
const allowed = {
  model: [],
  telemetry: [],
  config: ['model'],
  storage: ['model'],
  ingest: ['model'],
  pipeline: ['model', 'storage', 'telemetry'],
  traces: ['model', 'storage'],
  promql: ['model', 'storage'],
  logql: ['model', 'storage'],
  scrape: ['model', 'storage', 'pipeline', 'ingest', 'telemetry'],
  tail: ['model', 'storage', 'pipeline', 'ingest', 'logql', 'telemetry'],
  api: ['model', 'storage', 'ingest', 'pipeline', 'traces', 'promql', 'logql', 'scrape', 'tail', 'telemetry'],
  cli: ['config', 'main'],
};
const subsystems = Object.keys(allowed);

const directionRules = subsystems.map((from) => {
  const permitted = [from, ...allowed[from]].join('|');
  return {
    name: `direction-${from}`,
    comment: `${from}/ may import only ${allowed[from].join(', ') || 'nothing else in src'} (and errors.ts, version.ts)`,
    severity: 'error',
    from: { path: `${SRC}${from}/` },
    to: { path: SRC, pathNot: [`${SRC}(${permitted})(/|\\.ts$)`, `${SRC}(errors|version)\\.ts$`] },
  };
});

module.exports = {
  forbidden: [
    ...directionRules,
    {
      name: 'enter-through-index',
      comment: 'another subsystem is imported only through its index.ts',
      severity: 'error',
      from: { path: `${SRC}([^/]+)/` },
      to: {
        path: `${SRC}([^/]+)/.+`,
        pathNot: [`${SRC}$1/`, `${SRC}[^/]+/index\\.ts$`],
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'only-storage-touches-clickhouse',
      comment: 'storage/clickhouse is the only code that imports @clickhouse/client or chdb',
      severity: 'error',
      from: { pathNot: `${SRC}storage/clickhouse/` },
      to: { path: 'node_modules/(@clickhouse|chdb)/' },
    },
    {
      name: 'main-is-composition-root',
      comment: 'nothing but the CLI imports main.ts',
      severity: 'error',
      from: { path: SRC, pathNot: `${SRC}(cli/|main\\.ts)` },
      to: { path: `${SRC}main\\.ts$` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
