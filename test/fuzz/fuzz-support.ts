import { afterAll, beforeAll, expect } from '@jest/globals';
import fc from 'fast-check';

/*
 * What the fuzz specs share: the seed and run count (overridable from the environment, so a failure
 * can be replayed and a long run asked for), the "one safe line" rule of the sanitiser, and an
 * unhandled-rejection tracker.
 *
 *   FUZZ_SEED=<seed> [FUZZ_PATH=<path>] npx jest test/fuzz/<spec>   replays what a failure printed
 *   FUZZ_RUNS=<n>                                                   runs every property n times
 */

/** The seed every property runs with unless `FUZZ_SEED` says otherwise. */
export const DEFAULT_FUZZ_SEED = 20_240_613;

const envInteger = (name: string): number | undefined => {
  const raw = process.env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${raw}`);
  return value;
};

export const FUZZ_SEED = envInteger('FUZZ_SEED') ?? DEFAULT_FUZZ_SEED;
const FUZZ_RUNS = envInteger('FUZZ_RUNS');
const FUZZ_PATH = process.env['FUZZ_PATH']?.trim() || undefined;

/** How many cases a property runs: `FUZZ_RUNS`, else the property's own (small) default. */
export const runsOf = (defaultRuns: number): number => FUZZ_RUNS ?? defaultRuns;

/**
 * `fc.assert` parameters: the fixed (or `FUZZ_SEED`) seed, `runs` cases. fast-check prints the seed
 * and the shrink path of a failure, e.g. `{ seed: 20240613, path: "12:3:0" }`: set `FUZZ_SEED` (and
 * `FUZZ_PATH`) to replay it.
 */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: runs,
    ...(FUZZ_PATH ? { path: FUZZ_PATH } : {}),
  };
}

/**
 * Jest's timeout for a property of `runs` cases that take about `msPerRun` each, with room for
 * shrinking a failure (which re-runs cases).
 */
export const timeoutFor = (runs: number, msPerRun: number): number =>
  Math.max(60_000, runs * msPerRun * 4 + 30_000);

/** What `sanitise` never lets through: control, format, separator characters, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** Why `text` is not one safe line, or undefined when it is. */
export function unsafeLineProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return `not a string but ${typeof text}`;
  const match = UNSAFE.exec(text);
  if (!match) return undefined;
  const code = match[0].codePointAt(0)?.toString(16).padStart(4, '0') ?? '?';
  return `U+${code} at ${match.index} in ${JSON.stringify(text.slice(Math.max(0, match.index - 40), match.index + 40))}`;
}

/** Asserts `text` is one line free of \p{Cc}\p{Cf}\p{Zl}\p{Zp} and lone surrogates. */
export function expectOneSafeLine(text: unknown, what: string): void {
  const problem = unsafeLineProblem(text);
  if (problem) throw new Error(`${what} is not one safe line: ${problem}`);
}

/**
 * Counts unhandled rejections while the suite runs, and fails the suite in `afterAll` when there
 * were any. Jest 30 (circus) also attributes an unhandled rejection to the test or hook running at
 * the time and fails it, from its own listener on the runner's process; this listener is the
 * suite's own record of them, for runners where that is not so.
 */
export function trackUnhandledRejections(): { readonly reasons: unknown[] } {
  const tracker = { reasons: [] as unknown[] };
  const listener = (reason: unknown): void => void tracker.reasons.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', listener);
  });
  afterAll(() => {
    process.off('unhandledRejection', listener);
    expect(tracker.reasons).toEqual([]);
  });
  return tracker;
}

/** Resolves after `ms` (unref'd: never keeps the process alive). */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Rejects with `what` unless `promise` settles within `ms`: a hang is a failing case, not a stuck run. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Strings a hostile client or cluster likes: control characters (C0, DEL, C1), format characters
 * (bidi overrides, zero-width, BOM), line and paragraph separators, terminal escape sequences, lone
 * surrogates, NUL, quotes and backslashes, percent signs, and plain text around them.
 */
export const HOSTILE_FRAGMENTS = [
  '\u0000',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r\n',
  '\u000b',
  '\u000c',
  '\u001b',
  '\u001b[31m',
  '\u001b[2J\u001b[H',
  '\u001b]0;owned\u0007',
  '\u001b]8;;https://evil.example/\u001b\\link\u001b]8;;\u001b\\',
  '\u007f',
  '\u0085',
  '\u009b31m',
  '\u009d',
  '\u200b',
  '\u200d',
  '\u200e',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\ufeff',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  '\udbff\udfff',
  '\ud83d\ude00',
  '"',
  "'",
  '\\',
  '\\u001b',
  '%',
  '%00',
  '%0a',
  '%E2%80%AE',
  '%ZZ',
  '<script>',
  '${x}',
  ' ',
  '  ',
  'é',
  'ß',
  'İ',
  '\u212a',
] as const;

/** A string made of hostile fragments and arbitrary characters. */
export const hostileString = (maxLength = 12): fc.Arbitrary<string> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_FRAGMENTS) },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
        { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
      ),
      { maxLength },
    )
    .map((parts) => parts.join(''));

/** `text` in a random letter case per character (`seed` picks), upper or lower whole. */
export type LetterCase = 'as-is' | 'lower' | 'upper' | 'mixed';
export const letterCase = fc.constantFrom<LetterCase>('as-is', 'lower', 'upper', 'mixed');
export function inCase(text: string, which: LetterCase): string {
  switch (which) {
    case 'as-is':
      return text;
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
    case 'mixed':
      return [...text].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
  }
}
