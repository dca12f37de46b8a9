/** The `lookout` command line. */
import { Command, Option } from 'commander';
import { loadConfig, ENV_VARS, type ConfigOverrides } from '../config/index.js';
import { isLookoutError } from '../errors.js';
import { startLookout, VERSION, type RunningLookout } from '../main.js';
import { registerDemoCommand } from './demo.js';

function banner(lookout: RunningLookout, dataDir: string): string {
  const url = lookout.httpUrl;
  const storage = lookout.storage.kind === 'embedded' ? `embedded ClickHouse (chDB) in ${dataDir}` : 'ClickHouse server';
  return [
    '',
    `  Lookout ${VERSION} is up`,
    '',
    `  HTTP           ${url}`,
    `    OTLP/HTTP    ${url}/v1/traces  /v1/logs  /v1/metrics`,
    `    Prometheus   ${url}/api/v1/query  (remote_write: ${url}/api/v1/write)`,
    `    Loki         ${url}/loki/api/v1/query_range  (push: ${url}/loki/api/v1/push)`,
    `    Tempo API    ${url}/api/traces/<id>  ${url}/api/search`,
    `    health       ${url}/health  ${url}/ready  ${url}/metrics`,
    `  OTLP/gRPC      127.0.0.1:${lookout.grpcPort}`,
    `  storage        ${storage}`,
    '',
    '  Send data: point any OpenTelemetry SDK at it, e.g.',
    `    OTEL_EXPORTER_OTLP_ENDPOINT=${url} node --require @opentelemetry/auto-instrumentations-node/register app.js`,
    `  Look at it in Grafana: Prometheus, Loki and Tempo datasources, each with URL ${url}`,
    '',
  ].join('\n');
}

function withConfigOptions(command: Command): Command {
  const env = (key: keyof ConfigOverrides) => ` [env: ${ENV_VARS[key]}]`;
  return command
    .addOption(new Option('-p, --port <port>', `HTTP port for OTLP/HTTP, the APIs and the UI (default 4318)${env('port')}`))
    .addOption(new Option('--grpc-port <port>', `OTLP/gRPC port (default 4317)${env('grpcPort')}`))
    .addOption(new Option('--host <address>', `address to listen on (default 0.0.0.0)${env('host')}`))
    .addOption(new Option('-d, --data-dir <dir>', `embedded storage directory (default ./lookout-data)${env('dataDir')}`))
    .addOption(new Option('--clickhouse-url <url>', `use a ClickHouse server instead of the embedded engine${env('clickhouseUrl')}`))
    .addOption(new Option('--retention <spec>', `days kept: "7d" for all, or "logs=7d,traces=7d,metrics=30d"${env('retention')}`))
    .addOption(new Option('--log-level <level>', `fatal|error|warn|info|debug|trace|silent (default info)${env('logLevel')}`))
    .addOption(new Option('-c, --config <file>', `lookout.yml to read (default ./lookout.yml if present)${env('config')}`))
    .addOption(new Option('--scrape-config <file>', `a prometheus.yml whose global and scrape_configs sections to scrape by${env('scrapeConfig')}`));
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('lookout')
    .description('All-in-one observability on embedded ClickHouse: OpenTelemetry, Prometheus and Loki ingest; PromQL, LogQL and Tempo APIs')
    .version(VERSION)
    .showHelpAfterError();

  withConfigOptions(
    program
      .command('up')
      .description('start Lookout: OTLP ingest (HTTP and gRPC), query APIs and storage, in one process')
      .addHelpText(
        'after',
        '\nExamples:\n  lookout up\n  lookout up --port 4318 --data-dir /var/lib/lookout --retention logs=14d,metrics=90d\n  LOOKOUT_CLICKHOUSE_URL=http://clickhouse:8123 lookout up',
      ),
  ).action(async (flags: ConfigOverrides) => {
    const config = loadConfig(flags);
    const lookout = await startLookout(config, undefined, { reloadConfig: () => loadConfig(flags) });
    process.stderr.write(banner(lookout, config.dataDir));
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        lookout.logger.warn({ signal }, 'second signal: exiting without waiting for the flush');
        process.exit(130);
      }
      void lookout.stop(`received ${signal}`).then(
        () => process.exit(0),
        (error: unknown) => {
          lookout.logger.error({ err: error }, 'error while stopping');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // SIGHUP re-reads the configuration and applies its reloadable parts; a bad file is logged and ignored.
    process.on('SIGHUP', () => {
      void Promise.resolve()
        .then(() => lookout.reload(loadConfig(flags)))
        .catch((error: unknown) => lookout.logger.error({ err: error }, 'configuration reload failed; keeping the running configuration'));
    });
  });

  withConfigOptions(program.command('check-config').description('validate the configuration (file, environment, flags) and print it')).action(
    (flags: ConfigOverrides) => {
      const config = loadConfig(flags);
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    },
  );

  registerDemoCommand(program, withConfigOptions);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    // Configuration faults are the user's to fix: one clear line, no stack trace.
    if (isLookoutError(error)) {
      process.stderr.write(`lookout: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`lookout: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}
