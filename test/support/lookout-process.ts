/**
 * Runs Lookout as a real child process for process-level tests: its own data directory and
 * free ports, ready when /ready answers 200. Runs from source (tsx) unless LOOKOUT_TEST_BIN=1,
 * which runs the built bin/lookout.js as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const createdDirs: string[] = [];
// Temporary directories live until the test process ends: tests reopen data directories
// after a stop, so stop() cannot remove them.
process.on('exit', () => {
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lookout-${prefix}-`));
  createdDirs.push(dir);
  return dir;
}

export interface LookoutProcess {
  url: string;
  port: number;
  grpcPort: number;
  dataDir: string;
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export async function startLookoutProcess(options: StartOptions = {}): Promise<LookoutProcess> {
  const port = await freePort();
  const grpcPort = await freePort();
  const dataDir = options.dataDir ?? tempDir('data');
  const args = ['up', '--host', '127.0.0.1', '--port', String(port), '--grpc-port', String(grpcPort), '--data-dir', dataDir, ...(options.args ?? [])];
  const command =
    process.env.LOOKOUT_TEST_BIN === '1'
      ? ['--max-semi-space-size=64', join(REPO_ROOT, 'packages/server/bin/lookout.js'), ...args]
      : ['--max-semi-space-size=64', '--import', 'tsx', join(REPO_ROOT, 'packages/server/src/cli/entry.ts'), ...args];
  const child = spawn(process.execPath, command, {
    cwd: REPO_ROOT,
    env: { ...process.env, LOOKOUT_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lookout exited with ${child.exitCode} before ready:\n${output}`);
    try {
      const response = await fetch(`${url}/ready`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`lookout not ready after ${options.readyTimeoutMs ?? 90_000} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    port,
    grpcPort,
    dataDir,
    child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
