import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ESALES_ENV_VARIABLES,
  esalesOptionsFromEnv,
} from '../../lib/config/esales-options-from-env.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { resolveEsalesOptions } from '../../lib/config/resolve-esales-options.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import { EsalesError } from '../../lib/errors/esales.error.js';
import { testApp } from '../support/test-app.js';
import { expectOneSafeLine, fuzzParameters, runsOf, timeoutFor } from './fuzz-support.js';

/*
 * Configuration, fuzzed: arbitrary option objects and environment maps either fail with exactly one
 * EsalesConfigError whose problems are one safe line each and never show a private key, or resolve
 * to options a module boots with and sends through (never a crash at the first request).
 */

/** Private keys the generators use; no problem text may contain one. */
const SECRETS = ['fuzz-private-key-0001', 'fuzz-private-key-with\nnewline', 'pk"quote\u202e'];

/** Hostile strings: control and format characters, separators, quotes, prototype names, long. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'UK\u2028x',
    'S\u202eE',
    'a\u0000b',
    '"quoted"',
    'x'.repeat(300),
    'https://w1.api.esales.apptus.cloud',
    'http://127.0.0.1:1',
    'http://169.254.169.254',
    'https://user:pass@example.com',
    'https://example.com/api/v1/notifications/',
    'https://example.com///',
    '.example.com',
    '-bad-.example.com',
  ),
);
/** What a private key may be in the generated options: a secret, or garbage. */
const privateKeyLike = fc.oneof(
  fc.constantFrom(...SECRETS),
  fc.constant(''),
  fc.integer(),
  fc.constant(null),
);

const numberLike = fc.oneof(
  fc.integer({ min: -10, max: 1_000_000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 0, 1, 16, 256),
  hostileString,
);
const anything = fc.oneof(
  hostileString,
  numberLike,
  fc.boolean(),
  fc.constant(null),
  fc.anything(),
);

/** An options object: every known option, mostly plausible values, sometimes garbage or extra keys. */
const optionsArbitrary = fc
  .record(
    {
      clusterUrl: fc.oneof(fc.constant('http://127.0.0.1:9'), hostileString, anything),
      clusterId: fc.oneof(fc.constantFrom('w1234ABCD', 'wBA03517B'), hostileString),
      privateKey: privateKeyLike,
      defaultMarket: fc.oneof(fc.constantFrom('UK', 'Sweden'), hostileString, anything),
      markets: fc.oneof(
        fc.dictionary(hostileString, fc.record({ privateKey: privateKeyLike }), {
          maxKeys: 3,
        }),
        fc.constant({ UK: {}, Sweden: {} }),
        anything,
      ),
      requestTimeoutMs: numberLike,
      transport: fc.oneof(fc.constantFrom('undici', 'axios', 'fetch'), anything),
      enabled: fc.oneof(fc.boolean(), anything),
      allowInsecureClusterUrl: fc.oneof(fc.constant(true), anything),
      cookieDomain: fc.oneof(hostileString, anything),
      cookieSecure: fc.oneof(fc.constantFrom('auto', true, false), anything),
      ignoreBots: fc.oneof(fc.boolean(), anything),
      maxQueueSize: numberLike,
      concurrency: fc.oneof(fc.constant('adaptive'), numberLike),
      minConcurrency: numberLike,
      maxConcurrency: numberLike,
      maxAttempts: numberLike,
      retryBaseDelayMs: numberLike,
      retryMaxDelayMs: numberLike,
      deliveryTimeoutMs: numberLike,
      shutdownTimeoutMs: numberLike,
      breakerThreshold: numberLike,
      breakerCooldownMs: numberLike,
      unknownOption: anything,
    },
    { requiredKeys: [] },
  )
  .map((options) =>
    // Own prototype-named keys, as JSON.parse makes them.
    Math.abs(JSON.stringify(options).length) % 7 === 0
      ? { ...options, ...(JSON.parse('{"__proto__": {"enabled": false}}') as object) }
      : options,
  );

/** An environment: known ESALES_* variables and per-market ones, with arbitrary values. */
const envArbitrary = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...ESALES_ENV_VARIABLES), hostileString, { maxKeys: 8 }),
    fc.option(fc.constantFrom(...SECRETS), { nil: undefined }),
    fc.dictionary(
      fc
        .tuple(
          fc.constantFrom('UK', 'SWEDEN', '__PROTO__', 'EN_US', 'X'),
          fc.constantFrom('CLUSTER_URL', 'PRIVATE_KEY', 'CLUSTER_ID', 'NOPE'),
        )
        .map(([market, field]) => `ESALES_MARKET_${market}_${field}`),
      hostileString,
      { maxKeys: 3 },
    ),
  )
  .map(([known, privateKey, perMarket]) => {
    const env: Record<string, string> = { ...known, ...perMarket };
    // Secrets only where secrets go; a secret pasted into the wrong variable is covered apart.
    for (const name of Object.keys(env)) {
      if (name.endsWith('PRIVATE_KEY')) env[name] = privateKey ?? 'x';
    }
    if (privateKey !== undefined) env['ESALES_PRIVATE_KEY'] = privateKey;
    return env;
  });

/** Fails unless `problems` is what a boot error must be: one safe line each, no private key. */
function expectSafeProblems(error: EsalesConfigError, secrets: readonly string[]): void {
  expect(error.problems.length).toBeGreaterThan(0);
  for (const problem of error.problems) {
    expectOneSafeLine(problem, 'a configuration problem');
    for (const secret of secrets) {
      if (secret.length >= 8) expect(problem).not.toContain(secret);
    }
  }
  // The message lists them on lines of their own, nothing else.
  expect(error.message.split('\n').length).toBe(error.problems.length + 1);
}

describe('configuration, fuzzed', () => {
  it('a secret pasted into the wrong variable is never echoed (finding 8)', () => {
    for (const name of [
      'ESALES_REQUEST_TIMEOUT_MS',
      'ESALES_ENABLED',
      'ESALES_TRANSPORT',
      'ESALES_CONCURRENCY',
    ]) {
      let thrown: unknown;
      try {
        esalesOptionsFromEnv({
          ESALES_CLUSTER_ID: 'w1',
          ESALES_DEFAULT_MARKET: 'UK',
          [name]: SECRETS[0],
        });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(EsalesConfigError);
      expectSafeProblems(thrown as EsalesConfigError, SECRETS);
    }
  });

  const optionRuns = runsOf(400);
  it(
    'an options object resolves, or fails with one EsalesConfigError of safe problems',
    () => {
      fc.assert(
        fc.property(optionsArbitrary, (options) => {
          let thrown: unknown;
          try {
            resolveEsalesOptions(options as unknown as EsalesModuleOptions);
          } catch (error) {
            thrown = error;
          }
          if (thrown === undefined) return;
          expect(thrown).toBeInstanceOf(EsalesConfigError);
          expectSafeProblems(thrown as EsalesConfigError, SECRETS);
        }),
        fuzzParameters(optionRuns),
      );
    },
    timeoutFor(optionRuns, 2),
  );

  const envRuns = runsOf(400);
  it(
    'an environment resolves, or fails with one EsalesConfigError of safe problems',
    () => {
      fc.assert(
        fc.property(envArbitrary, (env) => {
          let thrown: unknown;
          try {
            resolveEsalesOptions(esalesOptionsFromEnv(env));
          } catch (error) {
            thrown = error;
          }
          if (thrown === undefined) return;
          expect(thrown).toBeInstanceOf(EsalesConfigError);
          // A value may be quoted when it is well formed (a market name, say); a private key never.
          expectSafeProblems(thrown as EsalesConfigError, SECRETS);
        }),
        fuzzParameters(envRuns),
      );
    },
    timeoutFor(envRuns, 2),
  );

  const bootRuns = runsOf(8);
  it(
    'options that resolve make a module that boots and answers its first send with an EsalesError or success',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            requestTimeoutMs: fc.integer({ min: 50, max: 500 }),
            concurrency: fc.oneof(
              fc.constant('adaptive' as const),
              fc.integer({ min: 1, max: 64 }),
            ),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
            enabled: fc.boolean(),
            cookieSecure: fc.constantFrom('auto' as const, true, false),
            transport: fc.constantFrom('undici' as const, 'axios' as const),
            market: fc.constantFrom('UK', 'Sweden', 'Norway'),
          }),
          async ({ market, ...options }) => {
            const resolved = (() => {
              try {
                return resolveEsalesOptions({
                  clusterUrl: 'http://127.0.0.1:9',
                  allowInsecureClusterUrl: true,
                  defaultMarket: 'UK',
                  ...options,
                });
              } catch {
                return undefined;
              }
            })();
            if (!resolved) return;
            const t = await testApp({
              options: { ...options, markets: { UK: {}, Sweden: {} }, retryBaseDelayMs: 1 },
            });
            try {
              await t.service.sendNonEsalesClick({
                market,
                customerKey: 'c',
                sessionKey: 's',
                productKey: 'p',
              });
            } catch (error) {
              // Norway is not among the markets: a typed refusal, never a crash.
              expect(error).toBeInstanceOf(EsalesError);
            } finally {
              await t.close();
            }
          },
        ),
        fuzzParameters(bootRuns),
      );
    },
    timeoutFor(bootRuns, 1_000),
  );
});
