import { quote } from '../common/sanitize.js';
import { MARKET_NAME_CHARACTERS, MAX_MARKET_LENGTH } from '../notifications/notification-fields.js';

/*
 * The configuration's rule for market names (`defaultMarket`, the keys of `markets`, the entries of
 * `ESALES_MARKETS`): the characters notifications allow (`MARKET_NAME_CHARACTERS`: no control or
 * format characters, separators or lone surrogates), and no name that would reach
 * `Object.prototype` if it ever keyed a plain object.
 */

/** Names that would reach `Object.prototype` if they ever keyed a plain object. */
export const RESERVED_MARKET_NAMES: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** What is wrong with `name` as a market name (a phrase such as "must not be empty"), if anything. */
export function marketNameProblem(name: string): string | undefined {
  if (name.trim().length === 0) return 'must not be empty';
  if (name.length > MAX_MARKET_LENGTH) return `must be at most ${MAX_MARKET_LENGTH} characters`;
  if (!MARKET_NAME_CHARACTERS.test(name)) {
    return 'must not contain control or format characters, line or paragraph separators, or lone surrogates';
  }
  if (RESERVED_MARKET_NAMES.has(name)) {
    return `must not be ${[...RESERVED_MARKET_NAMES].map((n) => `"${n}"`).join(', ')} (reserved)`;
  }
  return undefined;
}

/** `value` in double quotes for an error message: the package's one `quote` (see common/sanitize). */
export const quoteForMessage = (value: string): string => quote(value, 200);
