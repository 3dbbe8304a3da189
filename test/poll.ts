/** Polling shared by the host tests (inside VS Code) and the UI tests (Playwright); no vscode import. */

/**
 * Polls `fn` until it returns something other than undefined/false; throws after `timeoutMs`,
 * naming `what` and the last value or error seen.
 */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
