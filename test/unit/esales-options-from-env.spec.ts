import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  ESALES_ENV_VARIABLES,
  esalesOptionsFromEnv,
} from '../../lib/config/esales-options-from-env.js';
import { resolveEsalesOptions } from '../../lib/config/resolve-esales-options.js';
import { configError } from '../support/config-errors.js';

describe('esalesOptionsFromEnv', () => {
  it('maps every top-level variable', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_URL: 'https://w1234ABCD.api.esales.apptus.cloud',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_PRIVATE_KEY: 'secret',
      ESALES_ENABLED: 'false',
      ESALES_REQUEST_TIMEOUT_MS: '1500',
      ESALES_ALLOW_INSECURE_CLUSTER_URL: 'yes',
      ESALES_TRANSPORT: 'axios',
    });
    expect(Object.fromEntries(Object.entries(options))).toEqual({
      clusterUrl: 'https://w1234ABCD.api.esales.apptus.cloud',
      defaultMarket: 'UK',
      privateKey: 'secret',
      enabled: false,
      requestTimeoutMs: 1500,
      allowInsecureClusterUrl: true,
      transport: 'axios',
    });
  });

  it('maps every delivery engine variable', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_MAX_QUEUE_SIZE: '500',
      ESALES_CONCURRENCY: '4',
      ESALES_MAX_ATTEMPTS: '2',
      ESALES_RETRY_BASE_DELAY_MS: '50',
      ESALES_RETRY_MAX_DELAY_MS: '1000',
      ESALES_DELIVERY_TIMEOUT_MS: '8000',
      ESALES_SHUTDOWN_TIMEOUT_MS: '0',
      ESALES_BREAKER_THRESHOLD: '10',
      ESALES_BREAKER_COOLDOWN_MS: '2500',
    });
    expect(Object.fromEntries(Object.entries(options))).toEqual({
      clusterId: 'w1',
      defaultMarket: 'UK',
      maxQueueSize: 500,
      concurrency: 4,
      maxAttempts: 2,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 1000,
      deliveryTimeoutMs: 8000,
      shutdownTimeoutMs: 0,
      breakerThreshold: 10,
      breakerCooldownMs: 2500,
    });
    expect(resolveEsalesOptions(options).delivery).toMatchObject({
      maxQueueSize: 500,
      concurrency: { mode: 'fixed', limit: 4 },
      shutdownTimeoutMs: 0,
    });
  });

  it.each([
    [{ ESALES_CONCURRENCY: 'adaptive' }, { concurrency: 'adaptive' }],
    [{ ESALES_CONCURRENCY: ' Adaptive ' }, { concurrency: 'adaptive' }],
    [{ ESALES_CONCURRENCY: '32' }, { concurrency: 32 }],
    [
      { ESALES_MIN_CONCURRENCY: '4', ESALES_MAX_CONCURRENCY: '64' },
      { minConcurrency: 4, maxConcurrency: 64 },
    ],
  ])('reads the concurrency variables %j', (variables, expected) => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ...variables,
    });
    expect(options).toMatchObject(expected);
  });

  it.each([
    [{ ESALES_CONCURRENCY: 'auto' }, 'ESALES_CONCURRENCY: must be "adaptive" or a whole number'],
    [
      { ESALES_CONCURRENCY: '8', ESALES_MAX_CONCURRENCY: '64' },
      'maxConcurrency (ESALES_MAX_CONCURRENCY): only apply to concurrency (ESALES_CONCURRENCY) "adaptive", not to a fixed concurrency (ESALES_CONCURRENCY) (8)',
    ],
    [
      { ESALES_MIN_CONCURRENCY: '300' },
      'minConcurrency (ESALES_MIN_CONCURRENCY): must not exceed maxConcurrency (ESALES_MAX_CONCURRENCY) (256, the default)',
    ],
  ])('refuses concurrency variables that cannot work: %j', (variables, problem) => {
    const problems = configError(() =>
      resolveEsalesOptions(
        esalesOptionsFromEnv({
          ESALES_CLUSTER_ID: 'w1',
          ESALES_DEFAULT_MARKET: 'UK',
          ...variables,
        }),
      ),
    ).problems;
    expect(problems).toEqual([problem]);
  });

  it('names the delivery variables in boot errors', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_CONCURRENCY: '0',
      ESALES_MAX_ATTEMPTS: '1001',
      ESALES_RETRY_BASE_DELAY_MS: '2000',
      ESALES_RETRY_MAX_DELAY_MS: '1000',
    });
    expect(configError(() => resolveEsalesOptions(options)).problems).toEqual([
      'concurrency (ESALES_CONCURRENCY): must be "adaptive" or a whole number from 1 to 1024',
      'maxAttempts (ESALES_MAX_ATTEMPTS): must be at most 1000',
      'retryBaseDelayMs (ESALES_RETRY_BASE_DELAY_MS): must not exceed retryMaxDelayMs (ESALES_RETRY_MAX_DELAY_MS) (1000)',
    ]);
  });

  it('lists every variable it reads, and the README documents each one', () => {
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_CLUSTER_URL');
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_BREAKER_COOLDOWN_MS');
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_MARKET_<M>_PRIVATE_KEY');
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_TRANSPORT');
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_MAX_CONCURRENCY');
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_COOKIE_SECURE');
    expect(ESALES_ENV_VARIABLES).toHaveLength(34);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of ESALES_ENV_VARIABLES) expect(readme).toContain(`\`${name}\``);
  });

  it('has a line in sample-app/.env.example for every variable it reads', () => {
    // The same check as the sample app's e2e spec, kept here so that it runs with the unit tests.
    const example = readFileSync(new URL('../../sample-app/.env.example', import.meta.url), 'utf8');
    for (const name of ESALES_ENV_VARIABLES) {
      expect(example).toMatch(new RegExp(`^#? ?${name.replace('<M>', '[A-Z0-9_]+')}=`, 'm'));
    }
  });

  it('reads ESALES_CLUSTER_ID', () => {
    expect(esalesOptionsFromEnv({ ESALES_CLUSTER_ID: 'wBA03517B' }).clusterId).toBe('wBA03517B');
  });

  it.each([
    ['undici', 'undici'],
    ['axios', 'axios'],
    [' Axios ', 'axios'],
    ['UNDICI', 'undici'],
  ])('reads ESALES_TRANSPORT=%p as %p', (value, transport) => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_TRANSPORT: value,
    });
    expect(options.transport).toBe(transport);
    expect(resolveEsalesOptions(options).transport).toBe(transport);
  });

  it('defaults to the undici transport when ESALES_TRANSPORT is unset or blank', () => {
    for (const env of [{}, { ESALES_TRANSPORT: ' ' }]) {
      const options = esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'UK',
        ...env,
      });
      expect(options).not.toHaveProperty('transport');
      expect(resolveEsalesOptions(options).transport).toBe('undici');
    }
  });

  it('names the allowed transports when ESALES_TRANSPORT is not one of them', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'UK',
        ESALES_TRANSPORT: 'fetch',
      }),
    );
    expect(error.problems).toEqual(['ESALES_TRANSPORT: must be undici or axios']);
  });

  it('leaves unset and blank variables out, so module defaults apply', () => {
    const options = esalesOptionsFromEnv({ ESALES_DEFAULT_MARKET: 'UK', ESALES_ENABLED: '  ' });
    expect(Object.fromEntries(Object.entries(options))).toEqual({ defaultMarket: 'UK' });
  });

  it('builds per-market overrides, upper-casing the market and replacing non-alphanumerics', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'wDEFAULT1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_MARKETS: 'UK, Sweden ,en-US',
      ESALES_MARKET_SWEDEN_CLUSTER_URL: 'https://se.example.com',
      ESALES_MARKET_SWEDEN_PRIVATE_KEY: 'se-key',
      ESALES_MARKET_EN_US_CLUSTER_ID: 'wUS00001',
    });
    expect(options.markets).toEqual({
      UK: {},
      Sweden: { clusterUrl: 'https://se.example.com', privateKey: 'se-key' },
      'en-US': { clusterId: 'wUS00001' },
    });
    const resolved = resolveEsalesOptions(options);
    expect(resolved.target('UK')?.clusterUrl).toBe('https://wDEFAULT1.api.esales.apptus.cloud');
    expect(resolved.target('Sweden')?.clusterUrl).toBe('https://se.example.com');
    expect(resolved.target('en-US')?.nonEsalesClickUrl).toBe(
      'https://wUS00001.api.esales.apptus.cloud/api/v1/notifications/non-esales-click',
    );
    expect(resolved.privateKey('Sweden')).toBe('se-key');
    expect(resolved.privateKey('UK')).toBeUndefined();
  });

  it.each([
    ['ESALES_ENABLED', 'maybe'],
    ['ESALES_ALLOW_INSECURE_CLUSTER_URL', 'sure'],
    ['ESALES_REQUEST_TIMEOUT_MS', 'abc'],
    ['ESALES_REQUEST_TIMEOUT_MS', '1.5'],
    ['ESALES_REQUEST_TIMEOUT_MS', '-5'],
    ['ESALES_MAX_QUEUE_SIZE', '10k'],
    ['ESALES_DELIVERY_TIMEOUT_MS', '15s'],
    ['ESALES_TRANSPORT', 'fetch'],
    ['ESALES_TRANSPORT', 'undici,axios'],
  ])('rejects %s=%s instead of defaulting, without echoing the value', (name, value) => {
    const error = configError(() =>
      esalesOptionsFromEnv({ ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: 'UK', [name]: value }),
    );
    expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: must be `))]);
    expect(error.message).not.toContain(value);
  });

  it('reports every malformed variable and every other problem of the environment at once', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_ENABLED: 'maybe',
        ESALES_REQUEST_TIMEOUT_MS: 'soon',
        ESALES_CLUSTER_URL: 'ftp://cluster',
        ESALES_MARKET_DE_CLUSTER_ID: 'wDE',
      }),
    );
    const text = error.problems.join('\n');
    expect(text).toContain('ESALES_ENABLED');
    expect(text).toContain('ESALES_REQUEST_TIMEOUT_MS');
    expect(text).toContain('ESALES_MARKET_DE_CLUSTER_ID');
    expect(text).toContain('clusterUrl (ESALES_CLUSTER_URL): must be an https:// URL');
    expect(text).toContain('defaultMarket (ESALES_DEFAULT_MARKET)');
    expect(error.problems).toHaveLength(5);
  });

  it('rejects a per-market variable for a market that is not listed', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'UK',
        ESALES_MARKETS: 'UK',
        ESALES_MARKET_SE_CLUSTER_ID: 'w2',
      }),
    );
    expect(error.problems).toEqual([
      'ESALES_MARKET_SE_CLUSTER_ID: is set, but no market in ESALES_MARKETS maps to SE',
    ]);
  });

  it('rejects an ESALES_* variable it does not read, so a typo cannot fall back to a default', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'UK',
        ESALES_REQUEST_TIMEOUT: '5000',
        ESALES_CLUSTERID: 'w2',
        NOT_ESALES_VARIABLE: 'ignored',
      }),
    );
    const hint =
      'is not a variable nestjs-esales reads (a typo? esalesOptionsFromEnv(env, ' +
      '{ allowUnknown: true }) lets your own ESALES_* variables pass)';
    expect(error.problems).toEqual([
      `ESALES_CLUSTERID: ${hint}`,
      `ESALES_REQUEST_TIMEOUT: ${hint}`,
    ]);
  });

  it('lets an app keep its own ESALES_* variables with allowUnknown, per-market typos still caught', () => {
    const env = {
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_FEATURE_FLAG: 'on',
      ESALES_MARKETS: 'UK',
    };
    expect(esalesOptionsFromEnv(env, { allowUnknown: true })).toMatchObject({
      clusterId: 'w1',
      defaultMarket: 'UK',
    });
    const error = configError(() =>
      esalesOptionsFromEnv({ ...env, ESALES_MARKET_SE_CLUSTER_ID: 'w2' }, { allowUnknown: true }),
    );
    expect(error.problems).toEqual([
      'ESALES_MARKET_SE_CLUSTER_ID: is set, but no market in ESALES_MARKETS maps to SE',
    ]);
  });

  it('rejects two markets that share one variable name', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'en-US',
        ESALES_MARKETS: 'en-US,en_US,en-US',
      }),
    );
    expect(error.problems).toEqual([
      'ESALES_MARKETS: "en-US" and "en_US" both map to ESALES_MARKET_EN_US_*; rename one',
      'ESALES_MARKETS: "en-US" is listed twice',
    ]);
  });

  it('names env variables when boot validation rejects options read from the environment', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_URL: 'http://127.0.0.1:9',
      ESALES_MARKETS: 'UK,SE',
      ESALES_DEFAULT_MARKET: 'DE',
      ESALES_MARKET_SE_CLUSTER_ID: 'w.bad',
    });
    const error = configError(() => resolveEsalesOptions(options));
    expect(error.problems).toEqual([
      'clusterUrl (ESALES_CLUSTER_URL): must be an https:// URL (set allowInsecureClusterUrl to use http for a local stand-in)',
      'markets["SE"].clusterId (ESALES_MARKET_SE_CLUSTER_ID): must contain only letters, digits and "-"',
      'defaultMarket (ESALES_DEFAULT_MARKET): "DE" is not one of markets (ESALES_MARKETS) ("UK", "SE")',
    ]);
    // The marker survives a spread, so apps can add to what the environment gives.
    const spreadError = configError(() => resolveEsalesOptions({ ...options }));
    expect(spreadError.problems).toEqual(error.problems);
  });

  it('never puts a private key into an error', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({ ESALES_PRIVATE_KEY: 'top-secret-key', ESALES_ENABLED: 'maybe' }),
    );
    expect(error.message).not.toContain('top-secret-key');
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    try {
      process.env['ESALES_DEFAULT_MARKET'] = 'FromProcess';
      expect(esalesOptionsFromEnv().defaultMarket).toBe('FromProcess');
    } finally {
      process.env = saved;
    }
  });
});
