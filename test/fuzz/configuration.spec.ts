import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ESALES_ENV_VARIABLES,
  esalesOptionsFromEnv,
  type EsalesEnv,
} from '../../lib/config/esales-options-from-env.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { resolveEsalesOptions } from '../../lib/config/resolve-esales-options.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import { EsalesUnknownMarketError } from '../../lib/errors/esales-unknown-market.error.js';
import { EsalesValidationError } from '../../lib/errors/esales-validation.error.js';
import { EsalesError } from '../../lib/errors/esales.error.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { testApp } from '../support/test-app.js';
import {
  fuzzParameters,
  HOSTILE_FRAGMENTS,
  hostileString,
  runsOf,
  timeoutFor,
  trackUnhandledRejections,
  unsafeLineProblem,
  within,
} from './fuzz-support.js';

/*
 * Configuration, fuzzed: arbitrary option objects (valid and invalid values for every option,
 * unknown keys, own `__proto__` and `constructor` keys as JSON.parse makes them, odd market names)
 * and arbitrary ESALES_* environments. Either resolution throws exactly one EsalesConfigError whose
 * problems are a non-empty list of one-line, sanitised strings that never show a private key, or
 * the options are good: then (for at most ten of them per property) a module boots with them and
 * its first send settles with success or an EsalesError, never a TypeError or a crash.
 */

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** Private keys: random enough that no problem text holds one by chance. */
const privateKeyValue = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^pk[A-Za-z0-9]{14,30}$/) },
  // Secrets with characters a message would have to escape, in case one is ever quoted.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.stringMatching(/^pk[A-Za-z0-9]{10,20}$/), fc.constantFrom('"', '\\', ' ', '\u00e9'))
      .map(([key, odd]) => `${key}${odd}${key.slice(2, 8)}`),
  },
);

/** Values of any type, and the ones that trip up loose comparisons and templates. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      null,
      undefined,
      true,
      false,
      0,
      -0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.MAX_SAFE_INTEGER + 2,
      '',
      ' ',
      '1',
      ' 1 ',
      '1\n',
      '\u00a01',
      '\ufeff1',
      '\u20281',
      '0x10',
      '1e3',
      'true',
      'adaptive',
      'undici',
      [],
      [1],
      ['1'],
      {},
    ),
  },
  // An object without a prototype (from a query-string parser, say): no valueOf, no toString.
  { weight: 1, arbitrary: fc.constant(Object.create(null) as object) },
  { weight: 1, arbitrary: fc.constant(Object.freeze({ valueOf: () => 1, toString: () => '1' })) },
  { weight: 1, arbitrary: fc.constant(() => undefined) },
  { weight: 1, arbitrary: fc.constant(new Date(0)) },
  { weight: 1, arbitrary: fc.constant(10n) },
  { weight: 2, arbitrary: hostileString(6) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A whole number option: mostly within its range, else out of it or not a number. */
const wholeNumber = (min: number, max: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min, max: Math.min(max, min + 1_000) }) },
    { weight: 1, arbitrary: fc.integer({ min, max }) },
    { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, min + 0.5) },
    { weight: 2, arbitrary: oddValue },
  );

const flag = fc.oneof({ weight: 3, arbitrary: fc.boolean() }, { weight: 1, arbitrary: oddValue });

/** Market names: plain, unicode, spaces, prototype names, separators and format characters. */
const marketName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('UK', 'Sweden', 'Norge', 'Ελλάδα', 'en-US', 'a b') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      ' ',
      '',
      ' UK',
      'UK ',
      'uk',
      'U\u200bK',
      'U\u202eK',
      'UK\u2028',
      'UK\u0000',
      'UK\n',
      '\ud800',
      '😀',
      'x'.repeat(100),
      'x'.repeat(101),
      '"quoted"',
      'back\\slash',
      'UK,Sweden',
      '${x}',
    ),
  },
  { weight: 2, arbitrary: hostileString(4) },
);

const clusterUrlValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'http://127.0.0.1:9',
      'https://w1234ABCD.api.esales.apptus.cloud',
      'https://w1234ABCD.api.esales.apptus.cloud/',
      'http://localhost:8080///',
      'http://elevate-stand-in:8080',
      'https://[::1]:4443',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'https://user:pass@w1.api.esales.apptus.cloud',
      'https://w1.api.esales.apptus.cloud/api/v1/notifications/non-esales-click',
      'https://w1.api.esales.apptus.cloud/API/V1',
      'https://w1.api.esales.apptus.cloud?x=1',
      'https://w1.api.esales.apptus.cloud#frag',
      'http://169.254.169.254/latest/meta-data',
      'http://0xA9FEA9FE',
      'http://[::ffff:169.254.169.254]',
      'http://[fe80::1]',
      'http://metadata.google.internal.',
      'http://100.100.100.200',
      'ftp://w1.example',
      'javascript:alert(1)',
      'not a url',
      '//w1.example',
      'https://',
      `https://w1.example/${'/'.repeat(5000)}`,
      'https://w1.example/\u202e/x',
      'https://w1.example/%0d%0aSet-Cookie:x',
      '',
    ),
  },
  { weight: 1, arbitrary: hostileString(6) },
  { weight: 1, arbitrary: oddValue },
);

const clusterIdValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('w1234ABCD', 'wBA03517B') },
  { weight: 1, arbitrary: fc.constantFrom('', 'a.b', 'w1/../x', 'w1\n', 'w1 ', '__proto__') },
  { weight: 1, arbitrary: hostileString(4) },
  { weight: 1, arbitrary: oddValue },
);

const marketOptions: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        clusterUrl: clusterUrlValue,
        clusterId: clusterIdValue,
        privateKey: fc.oneof(privateKeyValue, oddValue),
        extra: oddValue,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

/**
 * An object whose keys are exactly those given, as own data properties: `__proto__` and
 * `constructor` too (as JSON.parse makes them), in order.
 */
function ownKeys(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

const marketsValue = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(fc.tuple(marketName, marketOptions), { maxLength: 4 })
      .map((entries) => ownKeys(entries)),
  },
  { weight: 1, arbitrary: fc.constant(JSON.parse('{"UK":{},"__proto__":{"privateKey":"x"}}')) },
  { weight: 1, arbitrary: oddValue },
);

const cookieNameValue = fc.oneof(
  fc.constantFrom(
    'apptus.sessionKey',
    'apptus.customerKey',
    'apptus.token',
    'sid',
    'a',
    '__Host-x',
  ),
  fc.constantFrom('', 'a b', 'a;b', 'a=b', 'é', 'a\nb', '__proto__'),
  hostileString(3),
  oddValue,
);

const cookieNamesValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom('sessionKey', 'customerKey', 'token'),
            fc.constantFrom('__proto__', 'constructor', 'session', 'toString'),
            hostileString(3),
          ),
          cookieNameValue,
        ),
        { maxLength: 4 },
      )
      .map((entries) => ownKeys(entries)),
  },
  { weight: 1, arbitrary: oddValue },
);

const cookieDomainValue = fc.oneof(
  fc.constantFrom('.example.com', 'example.com', 'shop.example.co.uk', 'localhost'),
  fc.constantFrom(
    '',
    '-bad-.example.com',
    'a..b',
    `${'a'.repeat(64)}.com`,
    'exa mple.com',
    'example.com;',
    'example.com\nSet-Cookie: x=1',
    'éxample.com',
    '.',
  ),
  hostileString(4),
  oddValue,
);

/** A transport: a name, an app's own object (well-behaved or not), or junk. */
const transportValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('undici', 'axios') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'UNDICI',
      'fetch',
      'http',
      '',
      {},
      { send: 'not a function' },
      // The app's own transports: answering 204, or breaking in the ways app code breaks.
      { send: () => Promise.resolve({ status: 204, body: '' }) },
      { send: () => Promise.resolve(undefined) },
      { send: () => Promise.resolve({ status: '204' }) },
      { send: () => Promise.resolve({ status: 400, body: 12, retryAfter: {} }) },
      {
        send: () => {
          throw new TypeError('app transport bug');
        },
      },
      { send: () => Promise.reject(new Error('app transport rejected')) },
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- app code does
      { send: () => Promise.reject('a bare string') },
      { send: () => ({ status: 204, body: '' }) },
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

const hookValue = fc.oneof(
  fc.constantFrom(
    () => undefined,
    () => {
      throw new Error('hook threw\nwith a second line');
    },
    () => Promise.reject(new Error('hook rejected')),
    () => Promise.resolve(undefined),
    () => true,
  ),
  oddValue,
);

/** Unknown option names, hostile ones included (a typo, a pasted line, a prototype member). */
const unknownKey = fc.oneof(
  fc.constantFrom(
    'clusterURL',
    'cluster_url',
    'privatekey',
    'timeout',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'isPrototypeOf',
    'valueOf',
    '__defineGetter__',
    'markets ',
    '',
  ),
  hostileString(4),
  fc.constantFrom(...HOSTILE_FRAGMENTS).map((f) => `x${f}y`),
);

/**
 * `delivery`: the in-memory engine, or a `delivery: 'bullmq'` that the `bullmq` values below never
 * make valid (a boot would need a Redis server), or a malformed one.
 */
const deliveryValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('memory', 'bullmq') },
  { weight: 1, arbitrary: fc.constantFrom('Memory', 'redis', { start: () => undefined }) },
  { weight: 1, arbitrary: oddValue },
);

/** `bullmq`: each one is wrong, or lacks the Redis connection `delivery: 'bullmq'` needs. */
const bullmqValue = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      {},
      { queueName: 'nestjs-esales', worker: false },
      { redisUrl: 'redis//user:s3cretpass@host' },
      { redisUrl: 'http://user:s3cretpass@host' },
      { redisUrl: 'redis://127.0.0.1:9', connection: {} },
      { redisUrl: 'redis://127.0.0.1:9', queueName: 'a:b' },
      { redisUrl: 'redis://127.0.0.1:9', stalledIntervalMs: 50 },
      { redisUrl: 'redis://127.0.0.1:9', constructor: 1 },
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

/** `beacon`: valid ones, and ones wrong in each of their fields. */
const beaconValue = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      { path: '/esales/notify' },
      { path: '/esales/notify', allowedOrigins: ['https://www.example.com'], rateLimit: false },
      { path: 'esales/notify' },
      { path: '/a/../b' },
      { path: '/:kind' },
      { path: '/esales/notify', allowedOrigins: ['https://www.example.com/path'] },
      { path: '/esales/notify', maxBodyBytes: 10 },
      { path: '/esales/notify', rateLimit: { points: 0, durationS: 10 } },
      { path: '/esales/notify', rateLimit: { points: 5 } },
      { path: '/esales/notify', constructor: 1 },
      {},
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

const OPTION_VALUES = {
  clusterUrl: clusterUrlValue,
  clusterId: clusterIdValue,
  privateKey: fc.oneof(
    { weight: 3, arbitrary: privateKeyValue },
    { weight: 1, arbitrary: oddValue },
  ),
  defaultMarket: fc.oneof({ weight: 5, arbitrary: marketName }, { weight: 1, arbitrary: oddValue }),
  markets: marketsValue,
  requestTimeoutMs: wholeNumber(1, 600_000),
  transport: transportValue,
  delivery: deliveryValue,
  bullmq: bullmqValue,
  enabled: flag,
  allowInsecureClusterUrl: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, flag),
  cookieSecure: fc.oneof(
    fc.constantFrom('auto', true, false),
    fc.constantFrom('AUTO', 'yes', 1),
    oddValue,
  ),
  consent: hookValue,
  maxQueueSize: wholeNumber(1, 10_000_000),
  concurrency: fc.oneof(
    { weight: 2, arbitrary: fc.constant('adaptive') },
    { weight: 2, arbitrary: wholeNumber(1, 1_024) },
    { weight: 1, arbitrary: fc.constantFrom('ADAPTIVE', 'auto', 'adaptive ') },
  ),
  minConcurrency: wholeNumber(1, 1_024),
  maxConcurrency: wholeNumber(1, 1_024),
  maxAttempts: wholeNumber(1, 1_000),
  retryBaseDelayMs: wholeNumber(1, 600_000),
  retryMaxDelayMs: wholeNumber(1, 600_000),
  deliveryTimeoutMs: wholeNumber(1, 3_600_000),
  shutdownTimeoutMs: wholeNumber(0, 600_000),
  breakerThreshold: wholeNumber(1, 10_000),
  breakerCooldownMs: wholeNumber(1, 600_000),
  onDelivered: hookValue,
  onFailed: hookValue,
  onDropped: hookValue,
  resolveMarket: hookValue,
  resolveVisitor: hookValue,
  assignVisitorCookies: flag,
  ignoreBots: flag,
  metrics: flag,
  traceNotifications: flag,
  cookieNames: cookieNamesValue,
  cookieDomain: cookieDomainValue,
  beacon: beaconValue,
} satisfies Record<keyof EsalesModuleOptions, fc.Arbitrary<unknown>>;

type OptionName = keyof typeof OPTION_VALUES;
const OPTION_NAMES = Object.keys(OPTION_VALUES) as OptionName[];

/**
 * An options object: a few options of the full list (each with a mostly plausible value), now and
 * then an unknown key, own `__proto__` / `constructor` keys; the required ones most of the time.
 */
/** Options that are checked against each other: drawn together now and then. */
const RELATED_OPTIONS: readonly (readonly OptionName[])[] = [
  ['concurrency', 'minConcurrency', 'maxConcurrency'],
  ['minConcurrency', 'maxConcurrency'],
  ['retryBaseDelayMs', 'retryMaxDelayMs'],
  ['clusterUrl', 'clusterId', 'markets'],
  ['defaultMarket', 'markets'],
  ['requestTimeoutMs', 'deliveryTimeoutMs'],
  ['delivery', 'bullmq', 'deliveryTimeoutMs'],
  ['cookieNames', 'cookieDomain', 'cookieSecure'],
];

const optionNames = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom(...OPTION_NAMES), { maxLength: 10 }),
    fc.option(fc.constantFrom(...RELATED_OPTIONS), { nil: undefined, freq: 2 }),
  )
  .map(([names, related]) => [...new Set([...(related ?? []), ...names])]);

const optionsObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    optionNames,
    fc.boolean(),
    fc.array(fc.tuple(unknownKey, oddValue), { maxLength: 2 }),
    fc.nat({ max: 5 }),
  )
  .chain(([names, basics, unknown, unknownAt]) =>
    fc
      .tuple(...names.map((name) => OPTION_VALUES[name].map((value) => [name, value] as const)))
      .map((entries) => {
        const all: (readonly [string, unknown])[] = [
          // Most objects get the two an app always sets, so that the rest are judged too.
          ...(basics
            ? [
                ['defaultMarket', 'UK'] as const,
                ['clusterUrl', 'http://127.0.0.1:9'] as const,
                ['allowInsecureClusterUrl', true] as const,
              ]
            : []),
          ...entries,
        ];
        all.splice(Math.min(unknownAt, all.length), 0, ...unknown);
        return ownKeys(all);
      }),
  );

/** Private keys anywhere in an options object: top level and per market, as strings. */
function privateKeysOf(options: Record<string, unknown>): string[] {
  const keys: unknown[] = [options['privateKey']];
  const markets = options['markets'];
  if (typeof markets === 'object' && markets !== null) {
    for (const market of Object.values(markets as Record<string, unknown>)) {
      if (typeof market === 'object' && market !== null) {
        keys.push((market as Record<string, unknown>)['privateKey']);
      }
    }
  }
  return keys.filter((k): k is string => typeof k === 'string');
}

// ---------------------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------------------

/** The top-level variables (the per-market patterns, with `<M>`, are built below). */
const TOP_LEVEL_VARIABLES = ESALES_ENV_VARIABLES.filter((name) => !name.includes('<M>'));
const PER_MARKET_SUFFIXES = ESALES_ENV_VARIABLES.filter((name) => name.includes('<M>')).map(
  (name) => name.split('<M>')[1] ?? '',
);

const INTEGER_VARIABLE = /_(MS|SIZE|CONCURRENCY|ATTEMPTS|THRESHOLD)$/;
const BOOLEAN_VARIABLES = new Set([
  'ESALES_ENABLED',
  'ESALES_ALLOW_INSECURE_CLUSTER_URL',
  'ESALES_ASSIGN_VISITOR_COOKIES',
  'ESALES_IGNORE_BOTS',
  'ESALES_BULLMQ_WORKER',
]);

/** A value the variable takes, spelled as people spell it. */
function plausibleValue(name: string, markets: readonly string[]): fc.Arbitrary<string> {
  const [m1 = 'UK', m2 = 'Sweden'] = markets;
  if (BOOLEAN_VARIABLES.has(name)) {
    return fc.constantFrom('true', 'false', 'TRUE', 'No', '1', '0', ' on ', 'off');
  }
  switch (name) {
    case 'ESALES_CLUSTER_URL':
      return fc.constantFrom('http://127.0.0.1:9', 'https://w1234ABCD.api.esales.apptus.cloud/');
    case 'ESALES_CLUSTER_ID':
      return fc.constantFrom('w1234ABCD', 'wBA03517B');
    case 'ESALES_DEFAULT_MARKET':
      return fc.constantFrom(m1, m2, ` ${m1} `);
    case 'ESALES_MARKETS':
      return fc.constantFrom(m1, `${m1},${m2}`, ` ${m2} , ${m1} ,`);
    case 'ESALES_COOKIE_DOMAIN':
      return fc.constantFrom('.example.com', 'shop.example.com');
    case 'ESALES_COOKIE_SECURE':
      return fc.constantFrom('auto', 'AUTO', 'true', 'false', '1');
    case 'ESALES_TRANSPORT':
      return fc.constantFrom('undici', 'axios', 'Axios');
    // Never bullmq: with a Redis URL it would resolve, and a boot would need a Redis server.
    case 'ESALES_DELIVERY':
      return fc.constantFrom('memory', 'MEMORY');
    case 'ESALES_REDIS_URL':
      return fc.constantFrom('redis://127.0.0.1:9', 'rediss://user:s3cretpass@127.0.0.1:9/0');
    case 'ESALES_BULLMQ_QUEUE':
      return fc.constantFrom('nestjs-esales', 'shop_1');
    case 'ESALES_CONCURRENCY':
      return fc.oneof(
        fc.constantFrom('adaptive', 'ADAPTIVE'),
        fc.integer({ min: 1, max: 64 }).map(String),
      );
  }
  if (INTEGER_VARIABLE.test(name)) return fc.integer({ min: 1, max: 5_000 }).map(String);
  return fc.constantFrom('x');
}

/** Variables whose well-formed values the messages name by design (the markets). */
const NAMING_VARIABLES = new Set(['ESALES_MARKETS', 'ESALES_DEFAULT_MARKET']);

/**
 * What a variable's value can be: right for some variable, wrong for most, or the private key pasted
 * into the wrong variable (never into one whose values the messages name, such as ESALES_MARKETS:
 * a market called like the private key would be named).
 */
const envValue = (
  name: string,
  secret: string,
  markets: readonly string[] = [],
): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: plausibleValue(name, markets) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'true',
        'FALSE',
        ' yes ',
        'off',
        'maybe',
        '0',
        '1',
        '100',
        '-1',
        '1.5',
        '1e3',
        '0x10',
        '99999999999999999999',
        'adaptive',
        'Adaptive',
        'auto',
        'undici',
        'AXIOS',
        'fetch',
        'UK',
        'UK,Sweden',
        'UK, uk',
        'UK,UK',
        'en-US,en_US',
        ',,',
        '__proto__',
        'constructor,UK',
        'http://127.0.0.1:9',
        'https://w1.api.esales.apptus.cloud/api/v1',
        'http://169.254.169.254',
        'w1234ABCD',
        '.example.com',
        '',
        '   ',
      ),
    },
    { weight: 2, arbitrary: hostileString(5) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    ...(NAMING_VARIABLES.has(name)
      ? []
      : [
          { weight: 1, arbitrary: fc.constant(secret) },
          { weight: 1, arbitrary: fc.constant(` ${secret}\n`) },
        ]),
  );

interface EnvCase {
  readonly env: Record<string, string | undefined>;
  /** The private keys the environment sets (ESALES_PRIVATE_KEY, ESALES_MARKET_<M>_PRIVATE_KEY). */
  readonly secrets: readonly string[];
}

const envKey = (market: string): string => market.toUpperCase().replace(/[^A-Z0-9]/g, '_');

const envCase: fc.Arbitrary<EnvCase> = fc
  .tuple(privateKeyValue, privateKeyValue, marketName, marketName)
  .chain(([topKey, marketKey, m1, m2]) =>
    fc
      .record({
        basics: fc.boolean(),
        top: fc.array(
          fc
            .constantFrom(...TOP_LEVEL_VARIABLES)
            .chain((name) =>
              envValue(name, topKey, [m1, m2]).map((value) => [name, value] as const),
            ),
          { maxLength: 8 },
        ),
        perMarket: fc.array(
          fc.tuple(
            fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom(m1, m2).map(envKey) },
              { weight: 1, arbitrary: fc.constantFrom('UK', 'SWEDEN', '__PROTO__', 'X', '') },
              { weight: 1, arbitrary: hostileString(3) },
            ),
            fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom(...PER_MARKET_SUFFIXES) },
              { weight: 1, arbitrary: fc.constant('_NOPE') },
            ),
            fc.oneof(
              { weight: 3, arbitrary: fc.constantFrom('http://127.0.0.1:9', 'w1234ABCD') },
              { weight: 1, arbitrary: envValue('ESALES_MARKET_X', topKey) },
            ),
          ),
          { maxLength: 3 },
        ),
        // Names this package does not read (typos, hostile ones) now and then: each is an error.
        unknown: fc.oneof(
          { weight: 3, arbitrary: fc.constant([]) },
          {
            weight: 1,
            arbitrary: fc.array(
              fc.tuple(
                fc.oneof(
                  fc.constantFrom(
                    'ESALES_CLUSTERURL',
                    'ESALES_',
                    'ESALES_MARKET_',
                    'ESALES_MARKET__X',
                  ),
                  hostileString(3).map((s) => `ESALES_${s}`),
                ),
                envValue('ESALES_UNKNOWN', topKey),
              ),
              { minLength: 1, maxLength: 2 },
            ),
          },
        ),
        setTopKey: fc.boolean(),
        setMarketKey: fc.boolean(),
        unset: fc.constantFrom(undefined, ''),
      })
      .map(({ basics, top, perMarket, unknown, setTopKey, setMarketKey, unset }) => {
        const env: Record<string, string | undefined> = {
          PATH: '/usr/bin',
          ...(basics
            ? {
                ESALES_CLUSTER_URL: 'http://127.0.0.1:9',
                ESALES_ALLOW_INSECURE_CLUSTER_URL: 'true',
                ESALES_DEFAULT_MARKET: m1,
                ESALES_MARKETS: `${m1},${m2}`,
              }
            : {}),
        };
        for (const [name, value] of top) env[name] = value;
        for (const [market, suffix, value] of perMarket)
          env[`ESALES_MARKET_${market}${suffix}`] = value;
        for (const [name, value] of unknown) env[name] = value;
        env['ESALES_UNSET'] = unset;
        // Private-key variables hold the private keys (a pasted one elsewhere came from `envValue`).
        delete env['ESALES_PRIVATE_KEY'];
        for (const name of Object.keys(env)) {
          if (name.endsWith('_PRIVATE_KEY')) env[name] = marketKey;
        }
        if (setTopKey) env['ESALES_PRIVATE_KEY'] = topKey;
        if (setMarketKey) env[`ESALES_MARKET_${envKey(m1)}_PRIVATE_KEY`] = marketKey;
        const secrets = Object.entries(env)
          .filter(([name, value]) => name.endsWith('_PRIVATE_KEY') && value !== undefined)
          .map(([, value]) => value as string);
        return { env, secrets };
      }),
  );

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** The forms of a private key a problem could show: as given, and trimmed (env values are). */
const formsOf = (secrets: readonly string[]): string[] =>
  [...new Set(secrets.flatMap((s) => [s, s.trim()]))].filter((s) => s.length >= 8);

/** `thrown` is one EsalesConfigError (not a TypeError, not a list) with a non-empty problem list. */
function expectOneConfigError(thrown: unknown): void {
  expect({
    type: (thrown as Error)?.constructor?.name,
    isConfigError: thrown instanceof EsalesConfigError,
  }).toEqual({ type: 'EsalesConfigError', isConfigError: true });
  const { problems } = thrown as EsalesConfigError;
  expect(Array.isArray(problems) && problems.length > 0).toBe(true);
}

/** Every problem is one sanitised line that shows no private key. */
function expectSafeProblems(error: EsalesConfigError, secrets: readonly string[]): void {
  const unsafe = error.problems
    .map((problem) => ({ problem, why: unsafeLineProblem(problem) }))
    .filter(({ why }) => why !== undefined);
  expect(unsafe).toEqual([]);
  const leaks = error.problems.flatMap((problem) =>
    formsOf(secrets)
      .filter((secret) => problem.includes(secret))
      .map((secret) => ({ problem, secret })),
  );
  expect(leaks).toEqual([]);
}

/** `thrown` is one EsalesConfigError of one-line, sanitised problems that show no private key. */
function expectConfigError(thrown: unknown, secrets: readonly string[]): void {
  expectOneConfigError(thrown);
  expectSafeProblems(thrown as EsalesConfigError, secrets);
}

/** Runs `resolve`; the options, or undefined after checking what it threw. */
function resolvedOrChecked<T>(resolve: () => T, secrets: readonly string[]): T | undefined {
  try {
    return resolve();
  } catch (error) {
    expectConfigError(error, secrets);
    return undefined;
  }
}

/** The most a boot sample's timings may ask for, so that one boot and send take seconds. */
const BOOT_TIMING_CAPS = {
  requestTimeoutMs: 2_000,
  deliveryTimeoutMs: 4_000,
  shutdownTimeoutMs: 2_000,
} as const;

/**
 * The options pointed at the stand-in: every cluster URL and id replaced by its URL (a resolved
 * `clusterId` would be a real Elevate host), http allowed, and the timings capped (a configured
 * 10-minute request timeout or shutdown is the app's right, and would only make the run wait).
 * Undefined when that no longer resolves.
 */
function atStandIn(options: EsalesModuleOptions, url: string): EsalesModuleOptions | undefined {
  const markets = options.markets
    ? Object.fromEntries(
        Object.entries(options.markets).map(([name, market]) => {
          const { clusterId: _id, clusterUrl: _url, ...rest } = market;
          return [
            name,
            _id !== undefined || _url !== undefined ? { ...rest, clusterUrl: url } : rest,
          ];
        }),
      )
    : undefined;
  const rest: Partial<EsalesModuleOptions> = { ...options };
  delete rest.clusterId;
  const capped = Object.fromEntries(
    Object.entries(BOOT_TIMING_CAPS).map(([name, cap]) => {
      const given = (options as unknown as Record<string, unknown>)[name];
      return [name, typeof given === 'number' ? Math.min(given, cap) : cap];
    }),
  );
  const pointed = {
    ...rest,
    ...capped,
    clusterUrl: url,
    allowInsecureClusterUrl: true,
    ...(markets ? { markets } : {}),
  } as EsalesModuleOptions;
  try {
    resolveEsalesOptions(pointed);
    return pointed;
  } catch {
    return undefined;
  }
}

const unhandled = trackUnhandledRejections();

/** At most this many boots per property: booting is slow. */
const MAX_BOOTS = 10;
const CUSTOMER = 'd9528030-509c-4e0f-b585-7168f1e9feca';
const SESSION = 'b106299c-eac0-4f6f-96d2-93e57c255784';

describe('configuration, fuzzed', () => {
  let standIn: ElevateStandIn;
  beforeAll(async () => {
    standIn = await ElevateStandIn.start();
  });
  afterAll(() => standIn.close());

  /** Boots a module with `options` and sends one click: success or an EsalesError. */
  async function bootAndSend(options: EsalesModuleOptions): Promise<void> {
    const pointed = atStandIn(options, standIn.url);
    if (!pointed) return;
    const t = await within(
      testApp({ standIn, moduleDefaults: true, options: pointed }),
      15_000,
      'the boot',
    );
    try {
      const sent = t.service.sendNonEsalesClick({
        market: pointed.defaultMarket,
        customerKey: CUSTOMER,
        sessionKey: SESSION,
        productKey: 'p',
      });
      let error: unknown;
      try {
        await within(sent, 15_000, 'the first send');
      } catch (e) {
        error = e;
      }
      if (error !== undefined) {
        expect({
          type: (error as Error)?.constructor?.name,
          isEsales: error instanceof EsalesError,
        }).toEqual({
          type: (error as Error)?.constructor?.name,
          isEsales: true,
        });
        // The configuration accepted the default market: notifications take it too.
        expect(
          error instanceof EsalesValidationError || error instanceof EsalesUnknownMarketError,
        ).toBe(false);
      }
      expect(t.logs.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    } finally {
      await within(t.close(), 15_000, 'the shutdown');
    }
    expect(unhandled.reasons).toEqual([]);
  }

  const objectRuns = runsOf(1_000);
  it(
    'an options object resolves, or throws exactly one EsalesConfigError with problems (never a TypeError); resolved ones boot and send',
    async () => {
      let boots = 0;
      await fc.assert(
        fc.asyncProperty(optionsObject, async (options) => {
          let resolved = false;
          try {
            resolveEsalesOptions(options as unknown as EsalesModuleOptions);
            resolved = true;
          } catch (error) {
            expectOneConfigError(error);
          }
          if (resolved && boots < MAX_BOOTS) {
            boots++;
            await bootAndSend(options as unknown as EsalesModuleOptions);
          }
        }),
        fuzzParameters(objectRuns),
      );
    },
    timeoutFor(objectRuns, 20) + MAX_BOOTS * 5_000,
  );

  it(
    "an options object's problems are each one sanitised line that shows no private key",
    () => {
      fc.assert(
        fc.property(optionsObject, (options) => {
          let thrown: unknown;
          try {
            resolveEsalesOptions(options as unknown as EsalesModuleOptions);
          } catch (error) {
            thrown = error;
          }
          // What throws anything else is the property above's counterexample.
          fc.pre(thrown instanceof EsalesConfigError);
          expectSafeProblems(thrown, privateKeysOf(options));
        }),
        fuzzParameters(objectRuns),
      );
    },
    timeoutFor(objectRuns, 5),
  );

  const envRuns = runsOf(1_000);
  it(
    'an environment: one EsalesConfigError of safe problems without private keys, or a module that boots and sends',
    async () => {
      let boots = 0;
      await fc.assert(
        fc.asyncProperty(envCase, async ({ env, secrets }) => {
          const fromEnv = resolvedOrChecked(() => esalesOptionsFromEnv(env as EsalesEnv), secrets);
          if (!fromEnv) return;
          const resolved = resolvedOrChecked(() => resolveEsalesOptions(fromEnv), secrets);
          if (resolved && boots < MAX_BOOTS) {
            boots++;
            await bootAndSend(fromEnv);
          }
        }),
        fuzzParameters(envRuns),
      );
    },
    timeoutFor(envRuns, 20) + MAX_BOOTS * 5_000,
  );
});
