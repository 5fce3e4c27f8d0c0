import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { COOKIE_DOMAIN_MESSAGE } from '../../lib/config/esales-options.schema.js';
import { resolveEsalesOptions } from '../../lib/config/resolve-esales-options.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';

const problemsOf = (options: unknown): readonly string[] => {
  try {
    resolveEsalesOptions(options as EsalesModuleOptions);
  } catch (error) {
    if (error instanceof EsalesConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected an EsalesConfigError');
};

describe('resolveEsalesOptions', () => {
  it('applies defaults', () => {
    const resolved = resolveEsalesOptions({ clusterId: 'w1234ABCD', defaultMarket: 'UK' });
    expect(resolved.enabled).toBe(true);
    expect(resolved.requestTimeoutMs).toBe(2000);
    expect(resolved.transport).toBe('undici');
    expect(resolved.markets).toBeUndefined();
    expect(resolved.isAllowedMarket('Anything')).toBe(true);
    expect(resolved.target('Anything')).toEqual({
      clusterUrl: 'https://w1234ABCD.api.esales.apptus.cloud',
      nonEsalesClickUrl:
        'https://w1234ABCD.api.esales.apptus.cloud/api/v1/notifications/non-esales-click',
    });
  });

  it.each(['undici', 'axios'] as const)('accepts transport %p', (transport) => {
    expect(
      resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK', transport }).transport,
    ).toBe(transport);
  });

  it('defaults transport to undici when it is left out or null', () => {
    const options = { clusterId: 'w1', defaultMarket: 'UK' };
    expect(resolveEsalesOptions({ ...options, transport: undefined }).transport).toBe('undici');
    expect(problemsOf({ ...options, transport: null, clusterId: 'w.bad' })).toEqual([
      'clusterId: must contain only letters, digits and "-"',
    ]);
    expect(
      resolveEsalesOptions({ ...options, transport: null } as unknown as EsalesModuleOptions)
        .transport,
    ).toBe('undici');
  });

  it('accepts an app-made transport object and hands it over as it is', () => {
    const transport = { send: () => Promise.resolve({ status: 204, body: '' }) };
    expect(
      resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK', transport }).transport,
    ).toBe(transport);
  });

  it.each(['fetch', 'Axios', '', 5, true, ['undici'], {}, { send: 'POST' }])(
    'rejects transport %p',
    (transport) => {
      expect(problemsOf({ clusterId: 'w1', defaultMarket: 'UK', transport })).toEqual([
        'transport: must be "undici" or "axios", or an object with a send() method (an EsalesTransport)',
      ]);
    },
  );

  it('applies the delivery engine defaults the README documents', () => {
    const { delivery, hooks } = resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK' });
    expect(delivery).toEqual({
      maxQueueSize: 10_000,
      concurrency: { mode: 'adaptive', min: 16, max: 256 },
      maxAttempts: 20,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 1_000,
      deliveryTimeoutMs: 15_000,
      requestTimeoutMs: 2_000,
      shutdownTimeoutMs: 5_000,
      breakerThreshold: 5,
      breakerCooldownMs: 5_000,
      warnIntervalMs: 10_000,
    });
    expect(hooks).toEqual({});
  });

  it('checks the delivery options and hooks', () => {
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        maxQueueSize: 0,
        concurrency: 1.5,
        deliveryTimeoutMs: '15000',
        shutdownTimeoutMs: -1,
        breakerCooldownMs: 600_001,
        onDelivered: 'log it',
        onFailed: () => undefined,
      }),
    ).toEqual([
      'maxQueueSize: must be at least 1',
      'concurrency: must be "adaptive" or a whole number from 1 to 1024',
      'deliveryTimeoutMs: must be a whole number of milliseconds',
      'shutdownTimeoutMs: must be at least 0',
      'breakerCooldownMs: must be at most 600000',
      'onDelivered: must be a function',
    ]);
  });

  it.each([
    [
      'https://w1.api.esales.apptus.cloud/api/v1/notifications/non-esales-click',
      "clusterUrl: is the cluster's base URL, without the API path (/api/v1/notifications/non-esales-click): use https://w1.api.esales.apptus.cloud",
    ],
    [
      'https://proxy.example.com/elevate/api/v1/',
      "clusterUrl: is the cluster's base URL, without the API path (/api/v1/): use https://proxy.example.com/elevate",
    ],
    [
      'https://w1.api.esales.apptus.cloud/API/V1/Notifications/Click',
      "clusterUrl: is the cluster's base URL, without the API path (/API/V1/Notifications/Click): use https://w1.api.esales.apptus.cloud",
    ],
  ])('refuses an endpoint URL given as clusterUrl: %s', (clusterUrl, problem) => {
    expect(problemsOf({ clusterUrl, defaultMarket: 'UK' })).toEqual([problem]);
  });

  it.each([
    ['https://proxy.example.com/elevate/apiv1/', 'https://proxy.example.com/elevate/apiv1'],
    // A gateway whose own base path happens to contain api/v1: only a trailing API path is refused.
    ['https://gw.example.com/api/v1/elevate', 'https://gw.example.com/api/v1/elevate'],
  ])('keeps a base path that is not the API path: %s', (clusterUrl, expected) => {
    const resolved = resolveEsalesOptions({ clusterUrl, defaultMarket: 'UK' });
    expect(resolved.target('UK')?.clusterUrl).toBe(expected);
  });

  it.each<[Partial<EsalesModuleOptions>, unknown]>([
    [{}, { mode: 'adaptive', min: 16, max: 256 }],
    [{ concurrency: 'adaptive' }, { mode: 'adaptive', min: 16, max: 256 }],
    [
      { minConcurrency: 2, maxConcurrency: 8 },
      { mode: 'adaptive', min: 2, max: 8 },
    ],
    // A ceiling below the default floor takes the floor down with it.
    [{ maxConcurrency: 8 }, { mode: 'adaptive', min: 8, max: 8 }],
    [{ concurrency: 16 }, { mode: 'fixed', limit: 16 }],
  ])('resolves the concurrency options %j', (options, expected) => {
    const { delivery } = resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK', ...options });
    expect(delivery.concurrency).toEqual(expected);
  });

  it.each([
    [{ concurrency: 'auto' }, 'concurrency: must be "adaptive" or a whole number from 1 to 1024'],
    [{ concurrency: 0 }, 'concurrency: must be "adaptive" or a whole number from 1 to 1024'],
    [
      { concurrency: 4, minConcurrency: 2, maxConcurrency: 8 },
      'minConcurrency and maxConcurrency: only apply to concurrency "adaptive", not to a fixed concurrency (4)',
    ],
    [
      { minConcurrency: 9, maxConcurrency: 8 },
      'minConcurrency: must not exceed maxConcurrency (8)',
    ],
    [{ maxConcurrency: 1025 }, 'maxConcurrency: must be at most 1024'],
  ])('refuses concurrency options that cannot work: %j', (options, problem) => {
    expect(problemsOf({ clusterId: 'w1', defaultMarket: 'UK', ...options })).toEqual([problem]);
  });

  it('applies click-tracking defaults and checks its options', () => {
    const { clickTracking } = resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK' });
    expect(clickTracking).toEqual({
      assignVisitorCookies: true,
      ignoreBots: true,
      cookieNames: {
        sessionKey: 'apptus.sessionKey',
        customerKey: 'apptus.customerKey',
        token: 'apptus.token',
      },
      cookieSecure: 'auto',
    });
    expect(
      resolveEsalesOptions({
        clusterId: 'w1',
        defaultMarket: 'UK',
        cookieNames: { token: 'tk' },
        cookieDomain: '.example.com',
      }).clickTracking,
    ).toMatchObject({
      cookieNames: { token: 'tk', sessionKey: 'apptus.sessionKey' },
      cookieDomain: '.example.com',
    });
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        resolveMarket: 'UK',
        ignoreBots: 'yes',
        cookieNames: { sessionKey: 'a b', cookie: 'x' },
        cookieDomain: 'example.com; Secure',
      }),
    ).toEqual([
      'resolveMarket: must be a function',
      'ignoreBots: must be true or false',
      `cookieDomain: ${COOKIE_DOMAIN_MESSAGE}`,
      'cookieNames.cookie: is not a known option',
      'cookieNames.sessionKey: must be a valid cookie name',
    ]);
  });

  it('keeps the default name for a cookie name given as undefined, and rejects shared names', () => {
    expect(
      resolveEsalesOptions({
        clusterId: 'w1',
        defaultMarket: 'UK',
        cookieNames: { sessionKey: undefined, token: 'tk' },
      }).clickTracking.cookieNames,
    ).toEqual({ sessionKey: 'apptus.sessionKey', customerKey: 'apptus.customerKey', token: 'tk' });
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        cookieNames: { token: 'apptus.customerKey' },
      }),
    ).toEqual(['cookieNames: the three cookies need three different names']);
  });

  it('normalises a cluster URL with a base path and trailing slash', () => {
    const resolved = resolveEsalesOptions({
      clusterUrl: 'https://elevate.example.com/eu/',
      defaultMarket: 'UK',
    });
    expect(resolved.target('UK')?.nonEsalesClickUrl).toBe(
      'https://elevate.example.com/eu/api/v1/notifications/non-esales-click',
    );
  });

  it('lists every problem at once', () => {
    expect(
      problemsOf({
        clusterUrl: 'http://cluster.example.com',
        clusterId: 'w1',
        requestTimeoutMs: 0,
        enabled: 'yes',
        markets: { UK: { clusterId: 'bad id!' }, SE: 'nope' },
        privateKey: '',
        clusterURL: 'typo',
      }),
    ).toEqual([
      'clusterURL: is not a known option',
      'privateKey: must not be empty',
      'defaultMarket: is required (a market name such as "UK")',
      'requestTimeoutMs: must be at least 1',
      'enabled: must be true or false',
      'clusterUrl and clusterId: give one of them, not both',
      'markets["UK"].clusterId: must contain only letters, digits and "-"',
      'markets["SE"]: must be an object (use {} for no overrides)',
    ]);
  });

  it.each([
    ['http without allowInsecureClusterUrl', 'http://127.0.0.1:8080', 'must be an https:// URL'],
    ['no scheme', 'w1234ABCD.api.esales.apptus.cloud', 'must be an absolute URL'],
    ['credentials', 'https://user:pw@cluster.example.com', 'must not contain credentials'],
    ['a query string', 'https://cluster.example.com/?x=1', 'must not have a query string'],
    ['another scheme', 'ftp://cluster.example.com', 'must be an https:// URL'],
  ])('rejects a cluster URL with %s', (_case, clusterUrl, message) => {
    expect(problemsOf({ clusterUrl, defaultMarket: 'UK' })).toEqual([
      expect.stringContaining(`clusterUrl: ${message}`),
    ]);
  });

  it('never echoes credentials or private keys', () => {
    const problems = problemsOf({
      clusterUrl: 'https://user:hunter2@cluster.example.com',
      privateKey: 42,
      defaultMarket: 'UK',
    }).join('\n');
    expect(problems).not.toContain('hunter2');
    expect(problems).toContain('privateKey: must be a string');
  });

  it('permits http for a local stand-in when allowInsecureClusterUrl is set', () => {
    const resolved = resolveEsalesOptions({
      clusterUrl: 'http://127.0.0.1:8080',
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
    });
    expect(resolved.target('UK')?.clusterUrl).toBe('http://127.0.0.1:8080');
  });

  it('requires a cluster while enabled, but not when disabled', () => {
    expect(problemsOf({ defaultMarket: 'UK' })).toEqual([
      'clusterUrl or clusterId: one of them is required',
    ]);
    expect(resolveEsalesOptions({ defaultMarket: 'UK', enabled: false }).enabled).toBe(false);
  });

  it('rejects a cluster id that is not a host name label', () => {
    expect(problemsOf({ clusterId: 'w1.evil.com/x', defaultMarket: 'UK' })).toEqual([
      'clusterId: must contain only letters, digits and "-"',
    ]);
  });

  describe('markets', () => {
    const markets = {
      clusterId: 'wTOP00001',
      privateKey: 'top-key',
      defaultMarket: 'UK',
      markets: {
        UK: {},
        Sweden: { clusterUrl: 'https://se.example.com', privateKey: 'se-key' },
      },
    } satisfies EsalesModuleOptions;

    it('falls back to the top level for what a market leaves out', () => {
      const resolved = resolveEsalesOptions(markets);
      expect(resolved.markets).toEqual(['UK', 'Sweden']);
      expect(resolved.target('UK')?.clusterUrl).toBe('https://wTOP00001.api.esales.apptus.cloud');
      expect(resolved.target('Sweden')?.clusterUrl).toBe('https://se.example.com');
      expect(resolved.privateKey('UK')).toBe('top-key');
      expect(resolved.privateKey('Sweden')).toBe('se-key');
    });

    it('allows only the listed markets', () => {
      const resolved = resolveEsalesOptions(markets);
      expect(resolved.isAllowedMarket('Norway')).toBe(false);
      expect(resolved.target('Norway')).toBeUndefined();
      expect(resolved.privateKey('Norway')).toBeUndefined();
    });

    it('requires the default market to be listed', () => {
      expect(problemsOf({ ...markets, defaultMarket: 'Norway' })).toEqual([
        'defaultMarket: "Norway" is not one of markets ("UK", "Sweden")',
      ]);
    });

    it('requires a cluster for each market when there is none at the top level', () => {
      expect(
        problemsOf({ defaultMarket: 'UK', markets: { UK: {}, SE: { clusterId: 'wSE00001' } } }),
      ).toEqual([
        'markets["UK"]: no cluster: set markets["UK"].clusterUrl or markets["UK"].clusterId, or a top-level clusterUrl / clusterId',
      ]);
    });

    it('rejects an empty list and unusable market names', () => {
      expect(problemsOf({ clusterId: 'w1', defaultMarket: 'UK', markets: {} })).toEqual([
        'markets: must list at least one market',
        'defaultMarket: "UK" is not one of markets ()',
      ]);
      expect(
        problemsOf({ clusterId: 'w1', defaultMarket: 'UK', markets: { UK: {}, ' ': {} } }),
      ).toEqual(['markets: " " is not a usable market name (must not be empty)']);
    });
  });

  it('keeps private keys out of JSON and util.inspect', () => {
    const resolved = resolveEsalesOptions({
      clusterId: 'w1',
      defaultMarket: 'UK',
      privateKey: 'pk-123',
      markets: { UK: {}, SE: { privateKey: 'pk-se' } },
    });
    for (const shown of [
      JSON.stringify(resolved),
      inspect(resolved, { depth: 10, showHidden: true }),
    ]) {
      expect(shown).not.toContain('pk-123');
      expect(shown).not.toContain('pk-se');
    }
    expect(resolved.privateKey('SE')).toBe('pk-se');
  });

  it('treats null like an absent cluster', () => {
    expect(problemsOf({ clusterUrl: null, defaultMarket: 'UK' })).toEqual([
      'clusterUrl or clusterId: one of them is required',
    ]);
    const resolved = resolveEsalesOptions({
      clusterId: 'wTOP00001',
      defaultMarket: 'UK',
      markets: { UK: { clusterUrl: null, clusterId: null } as never },
    });
    expect(resolved.target('UK')?.clusterUrl).toBe('https://wTOP00001.api.esales.apptus.cloud');
  });

  it('holds market names to the rules notifications are held to', () => {
    expect(problemsOf({ clusterId: 'w1', defaultMarket: 'M'.repeat(101) })).toEqual([
      'defaultMarket: must be at most 100 characters',
    ]);
    expect(problemsOf({ clusterId: 'w1', defaultMarket: '   ' })).toEqual([
      'defaultMarket: must not be empty',
    ]);
    expect(problemsOf({ clusterId: 'w1', defaultMarket: 'UK\n' })).toEqual([
      'defaultMarket: must not contain control or format characters, line or paragraph separators, or lone surrogates',
    ]);
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        markets: { UK: {}, ['M'.repeat(101)]: {} },
      }),
    ).toEqual([
      `markets: "${'M'.repeat(101)}" is not a usable market name (must be at most 100 characters)`,
    ]);
  });

  it('rejects something that is not an object', () => {
    expect(problemsOf(undefined)).toEqual(['options must be an object']);
  });
});
