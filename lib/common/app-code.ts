import { sanitise } from './sanitize.js';

/** Helpers for calling code the app supplies (hooks, resolvers) and reporting what it threw. */

/**
 * Any thenable, not just `instanceof Promise`: a promise from another realm (a vm context, Jest's
 * test environment) or from a promise library must be recognised too.
 */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  typeof (value as { then?: unknown }).then === 'function';

/**
 * An error for a log line: one sanitised line, whatever the app (or a library) put in it. Never
 * throws, not even for a value whose `message` getter or `toString` does.
 */
export function describeError(error: unknown): string {
  try {
    return sanitise(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  } catch {
    return '[an error that cannot be printed]';
  }
}
