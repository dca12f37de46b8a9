/** Polling for process-level tests: the one place that knows how to wait for a condition. */

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error, e.g. a child process's output. */
  context?: () => string;
}

/**
 * Calls `probe` until it returns something other than undefined (or false) and returns that.
 * A probe that throws counts as "not yet"; its last error is reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 200, context } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? '' : `: ${String(lastError)}`;
      const extra = context ? `\n${context()}` : '';
      throw new Error(`timed out waiting for ${what}${cause}${extra}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
