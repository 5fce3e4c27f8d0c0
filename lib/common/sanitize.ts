/*
 * The one sanitiser for every untrusted string that can reach a log line, an error message, a hook
 * or a metric attribute: text from the cluster (bodies, `Retry-After`), from requests (market names,
 * ids) and from the app's own code (what its resolvers and hooks threw).
 */

/**
 * What is never written raw: control characters (`\p{Cc}`: C0, DEL, C1 such as NEL and CSI), format
 * characters (`\p{Cf}`: bidi overrides, zero-width characters), line and paragraph separators
 * (`\p{Zl}`, `\p{Zp}`) and lone surrogates. Any of them can forge a log record or rewrite a terminal.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNSAFE_GLOBAL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
/** Whitespace controls (tab, line feed, carriage return …): read as one space. */
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;

/** Longest sanitised text by default. */
export const MAX_SANITISED_LENGTH = 512;

/**
 * One line of plain, visible text: line breaks and tabs become single spaces, every other unsafe
 * character becomes a visible `\u{…}` escape, and the result is cut to `maxLength` characters (with
 * `…`) without splitting a surrogate pair.
 */
export function sanitise(text: string, maxLength: number = MAX_SANITISED_LENGTH): string {
  // Bounded before any work: the caller's text may be large.
  let result = text.length > maxLength * 2 ? text.slice(0, maxLength * 2) : text;
  if (UNSAFE.test(result)) {
    result = result
      .replace(WHITESPACE_CONTROLS, ' ')
      .replace(
        UNSAFE_GLOBAL,
        (character) => `\\u{${character.codePointAt(0)?.toString(16) ?? ''}}`,
      );
  }
  if (result.length <= maxLength) return result;
  let end = maxLength;
  const last = result.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${result.slice(0, end)}…`;
}

/**
 * An untrusted value quoted unambiguously for a message: in double quotes, its own `"` and `\`
 * escaped with a backslash (so nothing inside can pass for the end of the value), then sanitised (so
 * a real control character shows as `\u{1b}`, and the text `\u{1b}` as `\\u{1b}`).
 */
export const quote = (value: string, maxLength = 100): string =>
  `"${sanitise(value.replace(/["\\]/g, '\\$&'), maxLength)}"`;
