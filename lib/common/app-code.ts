/** Helpers for calling code the app supplies (hooks, resolvers) and reporting what it threw. */

/**
 * Any thenable, not just `instanceof Promise`: a promise from another realm (a vm context, Jest's
 * test environment) or from a promise library must be recognised too.
 */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  typeof (value as { then?: unknown }).then === 'function';

/** An error for a log line: one line, whatever the app put in its message. */
export const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]+/g,
    ' ',
  );
