import { serialize } from 'cookie';
import { describe, expect, it } from '@jest/globals';
import { trimTrailingSlashes } from '../../lib/config/cluster-hosts.js';
import { esalesOptionsFromEnv } from '../../lib/config/esales-options-from-env.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import { COOKIE_DOMAIN_MESSAGE } from '../../lib/config/esales-options.schema.js';
import { quoteForMessage } from '../../lib/config/market-names.js';
import { MARKET_NAME_CHARACTERS } from '../../lib/notifications/notification-fields.js';
import { resolveEsalesOptions } from '../../lib/config/resolve-esales-options.js';
import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';
import { configError } from '../support/config-errors.js';

const problemsOf = (options: unknown): readonly string[] =>
  configError(() => resolveEsalesOptions(options as EsalesModuleOptions)).problems;
const envProblems = (env: Record<string, string>): readonly string[] =>
  configError(() => resolveEsalesOptions(esalesOptionsFromEnv(env))).problems;

const MARKET_RULE =
  'must not contain control or format characters, line or paragraph separators, or lone surrogates';
const RESERVED = 'must not be "__proto__", "constructor", "prototype" (reserved)';
const LINK_LOCAL =
  'must not point at a link-local or cloud metadata address (169.254.0.0/16, fe80::/10, ' +
  '100.100.100.200, fd00:ec2::254, metadata.google.internal), http or https, whatever ' +
  'allowInsecureClusterUrl says';

/** Whether cookie.serialize, which sets the cookies, takes `domain`. */
const serializeTakes = (domain: string): boolean => {
  try {
    serialize('apptus.sessionKey', 'x', { domain });
    return true;
  } catch {
    return false;
  }
};
const bootTakes = (cookieDomain: string): boolean => {
  try {
    resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK', cookieDomain });
    return true;
  } catch (error) {
    if (!(error instanceof EsalesConfigError)) throw error;
    expect(error.problems).toEqual([`cookieDomain: ${COOKIE_DOMAIN_MESSAGE}`]);
    return false;
  }
};

describe('cookieDomain is validated by the rule cookie.serialize applies (finding 3)', () => {
  it.each([
    '-example.com',
    'example-.com',
    'shop.-example.com',
    '.-example.com',
    `${'a'.repeat(64)}.com`,
    `shop.${'b'.repeat(64)}`,
    'example..com',
    'example.com.',
    '..example.com',
    '.',
    'exa_mple.com',
  ])('refuses %p at boot, which cookie.serialize would refuse at runtime', (domain) => {
    expect(serializeTakes(domain)).toBe(false);
    expect(bootTakes(domain)).toBe(false);
  });

  it.each([
    '.example.com',
    'example.com',
    'EXAMPLE.com',
    'a',
    'x-1.y-2.example',
    `${'a'.repeat(63)}.com`,
    `.${'a'.repeat(63)}.${'b'.repeat(63)}`,
    '1.2.3.4',
  ])('accepts %p, which cookie.serialize takes', (domain) => {
    expect(serializeTakes(domain)).toBe(true);
    expect(bootTakes(domain)).toBe(true);
  });

  it('agrees with cookie.serialize on thousands of generated domains', () => {
    // A seeded xorshift, so a failure reproduces.
    let seed = 0x2545f491;
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const alphabet = 'aZ9-.-.';
    for (let i = 0; i < 3000; i++) {
      let domain = '';
      const length = 1 + random(12);
      for (let j = 0; j < length; j++) domain += alphabet[random(alphabet.length)];
      if (random(8) === 0) domain = domain.replace('a', 'a'.repeat(62 + random(3)));
      expect([domain, bootTakes(domain)]).toEqual([domain, serializeTakes(domain)]);
    }
  });
});

describe('boot errors never echo malformed or secret values (finding 8)', () => {
  const SECRET = 'sk-LEAKED-4f9a2c';
  const base = { ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: 'UK' };

  it.each([
    ['ESALES_ENABLED', 'ESALES_ENABLED: must be true or false (also 1/0, yes/no, on/off)'],
    [
      'ESALES_ALLOW_INSECURE_CLUSTER_URL',
      'ESALES_ALLOW_INSECURE_CLUSTER_URL: must be true or false (also 1/0, yes/no, on/off)',
    ],
    ['ESALES_REQUEST_TIMEOUT_MS', 'ESALES_REQUEST_TIMEOUT_MS: must be a whole number'],
    ['ESALES_BREAKER_COOLDOWN_MS', 'ESALES_BREAKER_COOLDOWN_MS: must be a whole number'],
    ['ESALES_TRANSPORT', 'ESALES_TRANSPORT: must be undici or axios'],
    ['ESALES_CONCURRENCY', 'ESALES_CONCURRENCY: must be "adaptive" or a whole number'],
    [
      'ESALES_COOKIE_SECURE',
      'ESALES_COOKIE_SECURE: must be auto, true or false (also 1/0, yes/no, on/off)',
    ],
  ])('names %s and what it expects, not the value', (name, problem) => {
    const error = configError(() => esalesOptionsFromEnv({ ...base, [name]: SECRET }));
    expect(error.problems).toEqual([problem]);
    expect(error.message).not.toContain(SECRET);
  });

  it.each([
    [{ ESALES_CLUSTER_ID: `${SECRET}/x` }, 'clusterId (ESALES_CLUSTER_ID): must contain only'],
    [
      { ESALES_CLUSTER_ID: undefined, ESALES_CLUSTER_URL: SECRET },
      'clusterUrl (ESALES_CLUSTER_URL): must be an absolute URL',
    ],
    [
      { ESALES_CLUSTER_ID: undefined, ESALES_CLUSTER_URL: `https://${SECRET}.example/api/v1/` },
      "clusterUrl (ESALES_CLUSTER_URL): is the cluster's base URL, without the API path: remove the trailing /api/v1…",
    ],
    [
      {
        ESALES_CLUSTER_ID: undefined,
        ESALES_CLUSTER_URL: `https://${SECRET}.example/api/v1/notifications/${SECRET}`,
      },
      "clusterUrl (ESALES_CLUSTER_URL): is the cluster's base URL, without the API path: remove the trailing /api/v1…",
    ],
    [
      { ESALES_DEFAULT_MARKET: `${SECRET}\u0085` },
      'defaultMarket (ESALES_DEFAULT_MARKET): must not',
    ],
    [
      { ESALES_DEFAULT_MARKET: 'M'.repeat(101) },
      'defaultMarket (ESALES_DEFAULT_MARKET): must be at most 100 characters',
    ],
    [
      { ESALES_MARKETS: `UK,${SECRET}\u2028x` },
      'ESALES_MARKETS: market 2 of 2 in the list must not',
    ],
    [{ ESALES_COOKIE_DOMAIN: `${SECRET}; Secure` }, 'cookieDomain (ESALES_COOKIE_DOMAIN): must be'],
  ])('names the variable of a malformed %j, not its value', (variables, problem) => {
    const env = Object.fromEntries(
      Object.entries({ ...base, ...variables }).filter(([, value]) => value !== undefined),
    ) as Record<string, string>;
    const error = configError(() => resolveEsalesOptions(esalesOptionsFromEnv(env)));
    expect(error.problems).toEqual([expect.stringContaining(problem)]);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('M'.repeat(101));
  });

  it('never shows a private key, top-level or per market, whatever else is wrong', () => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_PRIVATE_KEY: `${SECRET}-top`,
        ESALES_MARKETS: 'UK',
        ESALES_MARKET_UK_PRIVATE_KEY: `${SECRET}-uk`,
        ESALES_MARKET_SE_PRIVATE_KEY: `${SECRET}-se`,
        ESALES_ENABLED: `${SECRET}-enabled`,
      }),
    );
    expect(error.problems).toEqual([
      'ESALES_MARKET_SE_PRIVATE_KEY: is set, but no market in ESALES_MARKETS maps to SE',
      'ESALES_ENABLED: must be true or false (also 1/0, yes/no, on/off)',
      'defaultMarket (ESALES_DEFAULT_MARKET): is required (a market name such as "UK")',
      'markets["UK"]: no cluster: set markets["UK"].clusterUrl (ESALES_MARKET_UK_CLUSTER_URL) or markets["UK"].clusterId (ESALES_MARKET_UK_CLUSTER_ID), or a top-level clusterUrl (ESALES_CLUSTER_URL) / clusterId (ESALES_CLUSTER_ID)',
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it('never shows a privateKey of an options object', () => {
    const message = configError(() =>
      resolveEsalesOptions({
        clusterUrl: `https://${SECRET}-url@cluster.example.com/api/v1`,
        privateKey: [`${SECRET}-top`] as never,
        defaultMarket: 'UK',
        markets: { UK: { privateKey: { key: `${SECRET}-uk` } as never }, [`${SECRET}\n`]: {} },
      }),
    ).message;
    expect(message).toContain('privateKey: must be a string');
    expect(message).toContain('markets["UK"].privateKey: must be a string');
    expect(message).not.toContain(`${SECRET}-top`);
    expect(message).not.toContain(`${SECRET}-uk`);
    expect(message).not.toContain(`${SECRET}-url`);
  });

  it('quotes well-formed market names JSON-escaped', () => {
    expect(
      problemsOf({ clusterId: 'w1', defaultMarket: 'X"Y', markets: { 'U"K': {}, 'S\\E': {} } }),
    ).toEqual(['defaultMarket: "X\\"Y" is not one of markets ("U\\"K", "S\\\\E")']);
    expect(
      envProblems({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: 'en-US',
        ESALES_MARKETS: 'en-US,en"US',
      }),
    ).toEqual([
      'ESALES_MARKETS: "en-US" and "en\\"US" both map to ESALES_MARKET_EN_US_*; rename one',
    ]);
  });

  it('escapes control and format characters and separators when it quotes', () => {
    expect(quoteForMessage('a\u0085b\u202ec\u2028d\u2029e\u007ff\u200bg\ud800h\u{e0001}i\nj')).toBe(
      '"a b\\u{202e}c d e\\u{7f}f\\u{200b}g\\u{d800}h\\u{e0001}i j"',
    );
    // A market name refused for its characters is shown escaped: nothing raw reaches the log.
    const [problem = ''] = problemsOf({
      clusterId: 'w1',
      defaultMarket: 'UK',
      markets: { UK: {}, 'S\u202eE': {} },
    });
    expect(problem).toBe(`markets: "S\\u{202e}E" is not a usable market name (${MARKET_RULE})`);
  });
});

describe('__proto__, constructor and prototype (finding 10)', () => {
  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses %p in ESALES_MARKETS, and its per-market variables stay errors',
    (market) => {
      const key = market.toUpperCase();
      const error = configError(() =>
        esalesOptionsFromEnv({
          ESALES_CLUSTER_ID: 'w1',
          ESALES_DEFAULT_MARKET: 'UK',
          ESALES_MARKETS: `UK,${market}`,
          [`ESALES_MARKET_${key}_CLUSTER_URL`]: 'https://elsewhere.example.com',
        }),
      );
      expect(error.problems).toEqual([
        `ESALES_MARKETS: market 2 of 2 in the list ${RESERVED}`,
        `ESALES_MARKET_${key}_CLUSTER_URL: is set, but no market in ESALES_MARKETS maps to ${key}`,
      ]);
    },
  );

  it('builds markets from ESALES_MARKETS as own properties only', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_MARKETS: 'UK,__PROTO__,Constructor',
    });
    expect(Object.keys(options.markets ?? {})).toEqual(['UK', '__PROTO__', 'Constructor']);
    expect(Object.getPrototypeOf(options.markets)).toBe(Object.prototype);
    expect(resolveEsalesOptions(options).markets).toEqual(['UK', '__PROTO__', 'Constructor']);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses %p as a key of markets and as defaultMarket',
    (market) => {
      const markets = JSON.parse(`{"UK": {}, ${JSON.stringify(market)}: {}}`) as object;
      expect(Object.keys(markets)).toContain(market);
      expect(problemsOf({ clusterId: 'w1', defaultMarket: 'UK', markets })).toEqual([
        `markets: "${market}" is not a usable market name (${RESERVED})`,
      ]);
      expect(problemsOf({ clusterId: 'w1', defaultMarket: market })).toEqual([
        `defaultMarket: ${RESERVED}`,
      ]);
      expect(envProblems({ ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: market })).toEqual([
        `defaultMarket (ESALES_DEFAULT_MARKET): ${RESERVED}`,
      ]);
    },
  );

  it('reports an own __proto__ key of the options by name', () => {
    const options: unknown = JSON.parse(
      '{"clusterId": "w1", "defaultMarket": "UK", "__proto__": {"enabled": false}}',
    );
    expect(problemsOf(options)).toEqual(['__proto__: is not a known option']);
    const spread = { ...esalesOptionsFromEnv({ ESALES_CLUSTER_ID: 'w1' }), ['__proto__']: {} };
    expect(problemsOf({ ...spread, defaultMarket: 'UK' })).toEqual([
      '__proto__ (ESALES___PROTO__): is not a known option',
    ]);
  });

  it('reports an own __proto__ key of a markets entry, and of cookieNames, by name', () => {
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        markets: { UK: JSON.parse('{"__proto__": {"clusterId": "w2"}}') as object },
      }),
    ).toEqual(['markets["UK"].__proto__: is not a known option']);
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        cookieNames: JSON.parse('{"token": "tk", "__proto__": {}}') as object,
      }),
    ).toEqual(['cookieNames.__proto__: is not a known option']);
  });

  it('reports other Object.prototype names as unknown options', () => {
    expect(
      problemsOf({ clusterId: 'w1', defaultMarket: 'UK', constructor: 1, hasOwnProperty: 2 }),
    ).toEqual(['constructor: is not a known option', 'hasOwnProperty: is not a known option']);
  });

  it('allows no market that is a name of Object.prototype', () => {
    const resolved = resolveEsalesOptions({
      clusterId: 'w1',
      defaultMarket: 'UK',
      markets: { UK: {} },
    });
    for (const market of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(resolved.isAllowedMarket(market)).toBe(false);
      expect(resolved.target(market)).toBeUndefined();
    }
  });
});

describe('trailing slashes of the cluster URL path (finding 11)', () => {
  const slashes = '/'.repeat(100_000);

  it('trims them from the end in one pass', () => {
    expect(trimTrailingSlashes(slashes)).toBe('');
    expect(trimTrailingSlashes(`/eu${slashes}`)).toBe('/eu');
    // The shape that made /\/+$/ quadratic: a long run of slashes that is not at the end.
    expect(trimTrailingSlashes(`${slashes}eu`)).toBe(`${slashes}eu`);
    expect(trimTrailingSlashes(`${slashes}eu/`)).toBe(`${slashes}eu`);
    expect(trimTrailingSlashes('/a//b/')).toBe('/a//b');
    expect(trimTrailingSlashes('')).toBe('');
  });

  it.each([
    [`https://cluster.example.com${slashes}`, 'https://cluster.example.com'],
    [`https://cluster.example.com/eu${slashes}`, 'https://cluster.example.com/eu'],
    [`https://cluster.example.com${slashes}eu/`, `https://cluster.example.com${slashes}eu`],
  ])('normalises a cluster URL with 10^5 slashes (%#)', (clusterUrl, expected) => {
    const resolved = resolveEsalesOptions({ clusterUrl, defaultMarket: 'UK' });
    expect(resolved.target('UK')?.clusterUrl).toBe(expected);
  });

  it('refuses an API path followed by several slashes, as it refuses one with a single slash', () => {
    expect(
      problemsOf({
        clusterUrl: 'https://proxy.example.com/elevate/api/v1///',
        defaultMarket: 'UK',
      }),
    ).toEqual([
      "clusterUrl: is the cluster's base URL, without the API path (/api/v1///): use https://proxy.example.com/elevate",
    ]);
  });
});

describe('allowInsecureClusterUrl and link-local or metadata hosts (finding 12)', () => {
  const forbidden = [
    '169.254.169.254',
    '169.254.0.1',
    '169.254.255.255',
    '2852039166', // decimal
    '0xa9fea9fe', // hex
    '0xA9.0xFE.0xA9.0xFE',
    '0251.0376.0251.0376', // octal
    '169.254.43518', // a.b.c, the last part 16 bits
    '169.254.169.254.', // trailing dot
    '[::ffff:169.254.169.254]',
    '[::ffff:a9fe:a9fe]',
    '[0:0:0:0:0:ffff:a9fe:1]',
    '[::169.254.169.254]',
    '[64:ff9b::169.254.169.254]',
    '[fe80::1]',
    '[FE80::a:b:c:d]',
    '[febf:ffff::1]',
    '[fd00:ec2::254]',
    '100.100.100.200',
    'metadata.google.internal',
    'METADATA.google.internal.',
  ];

  it.each(forbidden)('refuses %s, http with allowInsecureClusterUrl and https alike', (host) => {
    for (const scheme of ['http', 'https']) {
      expect(
        problemsOf({
          clusterUrl: `${scheme}://${host}:8080/`,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
        }),
      ).toEqual([`clusterUrl: ${LINK_LOCAL}`]);
    }
    expect(problemsOf({ clusterUrl: `https://${host}`, defaultMarket: 'UK' })).toEqual([
      `clusterUrl: ${LINK_LOCAL}`,
    ]);
  });

  it('refuses them per market and from the environment, naming the variable', () => {
    expect(
      problemsOf({
        clusterId: 'w1',
        defaultMarket: 'UK',
        markets: { UK: {}, SE: { clusterUrl: 'https://[::ffff:169.254.169.254]' } },
      }),
    ).toEqual([`markets["SE"].clusterUrl: ${LINK_LOCAL}`]);
    const problems = envProblems({
      ESALES_CLUSTER_URL: 'http://0xa9fea9fe/latest/meta-data',
      ESALES_ALLOW_INSECURE_CLUSTER_URL: 'true',
      ESALES_DEFAULT_MARKET: 'UK',
    });
    expect(problems).toEqual([`clusterUrl (ESALES_CLUSTER_URL): ${LINK_LOCAL}`]);
    expect(problems.join('\n')).not.toContain('meta-data');
  });

  it.each([
    'http://169.253.255.255',
    'http://169.255.0.0',
    'http://[fec0::1]',
    'http://[::ffff:a9fd:ffff]',
    'http://100.100.100.201',
    'http://metadata.example.com',
    'http://10.0.0.5:9000',
  ])('keeps allowing %s', (clusterUrl) => {
    const resolved = resolveEsalesOptions({
      clusterUrl,
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
    });
    expect(resolved.target('UK')).toBeDefined();
  });

  it('lists the http cluster URLs that are not on loopback, for a warning at boot', () => {
    const resolved = resolveEsalesOptions({
      clusterUrl: 'http://esales-stand-in:8080',
      allowInsecureClusterUrl: true,
      defaultMarket: 'UK',
      markets: {
        UK: {},
        SE: { clusterUrl: 'http://127.0.0.2:9' },
        NO: { clusterUrl: 'http://localhost:9' },
        DK: { clusterUrl: 'http://[::1]:9' },
        FI: { clusterUrl: 'http://app.localhost:9' },
        DE: { clusterUrl: 'http://[::ffff:127.0.0.1]:9' },
        FR: { clusterUrl: 'https://fr.example.com' },
        NL: { clusterUrl: 'http://10.1.2.3/elevate/' },
        BE: { clusterUrl: 'http://esales-stand-in:8080/' },
        ES: { clusterId: 'wES00001' },
      },
    });
    expect(resolved.insecureNonLoopbackClusterUrls).toEqual([
      'http://esales-stand-in:8080',
      'http://10.1.2.3/elevate',
    ]);
    expect(Object.isFrozen(resolved.insecureNonLoopbackClusterUrls)).toBe(true);
  });

  it('lists nothing for https and loopback clusters', () => {
    expect(
      resolveEsalesOptions({ clusterId: 'w1', defaultMarket: 'UK' }).insecureNonLoopbackClusterUrls,
    ).toEqual([]);
    expect(
      resolveEsalesOptions({
        clusterUrl: 'http://127.0.0.1:8080',
        allowInsecureClusterUrl: true,
        defaultMarket: 'UK',
      }).insecureNonLoopbackClusterUrls,
    ).toEqual([]);
    expect(
      resolveEsalesOptions({ defaultMarket: 'UK', enabled: false }).insecureNonLoopbackClusterUrls,
    ).toEqual([]);
  });
});

describe('market names refuse separators, format characters and lone surrogates (finding 2)', () => {
  const bad = [
    ['a line separator', 'U\u2028K'],
    ['a paragraph separator', 'U\u2029K'],
    ['a right-to-left override', 'U\u202eK'],
    ['a zero-width space', 'U\u200bK'],
    ['a byte order mark', 'U\ufeffK'],
    ['an astral format character', 'U\u{e0001}K'],
    ['a C1 control', 'U\u0085K'],
    ['DEL', 'U\u007fK'],
    ['a lone high surrogate', 'U\ud800K'],
    ['a lone low surrogate', 'U\udc00K'],
  ];

  it('defines the rule as a pattern', () => {
    expect(MARKET_NAME_CHARACTERS.source).toBe('^[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}]*$');
    expect(MARKET_NAME_CHARACTERS.flags).toBe('u');
  });

  it.each(bad)('refuses %s in defaultMarket', (_case, market) => {
    expect(problemsOf({ clusterId: 'w1', defaultMarket: market })).toEqual([
      `defaultMarket: ${MARKET_RULE}`,
    ]);
  });

  it.each(bad)('refuses %s in a markets key', (_case, market) => {
    expect(
      problemsOf({ clusterId: 'w1', defaultMarket: 'UK', markets: { UK: {}, [market]: {} } }),
    ).toEqual([`markets: ${quoteForMessage(market)} is not a usable market name (${MARKET_RULE})`]);
  });

  it.each(bad)('refuses %s in ESALES_MARKETS and ESALES_DEFAULT_MARKET', (_case, market) => {
    const error = configError(() =>
      esalesOptionsFromEnv({
        ESALES_CLUSTER_ID: 'w1',
        ESALES_DEFAULT_MARKET: market,
        ESALES_MARKETS: `UK,${market},SE`,
      }),
    );
    expect(error.problems).toEqual([
      `ESALES_MARKETS: market 2 of 3 in the list ${MARKET_RULE}`,
      `defaultMarket (ESALES_DEFAULT_MARKET): ${MARKET_RULE}`,
    ]);
  });

  it.each(['UK', 'en-US', 'Sverige', 'Österreich', '日本', 'UK 🇬🇧', 'Côte d’Ivoire', 'a b'])(
    'accepts %p',
    (market) => {
      const resolved = resolveEsalesOptions({
        clusterId: 'w1',
        defaultMarket: market,
        markets: { [market]: {} },
      });
      expect(resolved.isAllowedMarket(market)).toBe(true);
      expect(
        esalesOptionsFromEnv({ ESALES_DEFAULT_MARKET: market, ESALES_MARKETS: market }).markets,
      ).toEqual({ [market]: {} });
    },
  );
});

describe('cookieSecure and consent', () => {
  const base = { clusterId: 'w1', defaultMarket: 'UK' };

  it('default to "auto" and no consent check', () => {
    const { clickTracking } = resolveEsalesOptions(base);
    expect(clickTracking.cookieSecure).toBe('auto');
    expect(clickTracking.consent).toBeUndefined();
    expect(clickTracking).not.toHaveProperty('consent');
    const nulls = { ...base, cookieSecure: null, consent: null } as unknown as EsalesModuleOptions;
    expect(resolveEsalesOptions(nulls).clickTracking).toMatchObject({ cookieSecure: 'auto' });
  });

  it.each(['auto', true, false] as const)('accepts cookieSecure %p', (cookieSecure) => {
    expect(resolveEsalesOptions({ ...base, cookieSecure }).clickTracking.cookieSecure).toBe(
      cookieSecure,
    );
  });

  it.each(['Auto', 'true', 1, 0, {}])('refuses cookieSecure %p', (cookieSecure) => {
    expect(problemsOf({ ...base, cookieSecure })).toEqual([
      'cookieSecure: must be "auto", true or false',
    ]);
  });

  it('hands the consent function over as it is, and refuses anything else', () => {
    const consent = (): boolean => false;
    expect(resolveEsalesOptions({ ...base, consent }).clickTracking.consent).toBe(consent);
    expect(problemsOf({ ...base, consent: true })).toEqual(['consent: must be a function']);
  });

  it.each([
    ['auto', 'auto'],
    [' AUTO ', 'auto'],
    ['true', true],
    ['1', true],
    ['on', true],
    ['false', false],
    ['No', false],
  ] as const)('reads ESALES_COOKIE_SECURE=%p as %p', (value, expected) => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_COOKIE_SECURE: value,
    });
    expect(options.cookieSecure).toBe(expected);
    expect(resolveEsalesOptions(options).clickTracking.cookieSecure).toBe(expected);
  });

  it('leaves cookieSecure to its default when ESALES_COOKIE_SECURE is blank; consent has no variable', () => {
    const options = esalesOptionsFromEnv({
      ESALES_CLUSTER_ID: 'w1',
      ESALES_DEFAULT_MARKET: 'UK',
      ESALES_COOKIE_SECURE: ' ',
    });
    expect(options).not.toHaveProperty('cookieSecure');
    expect(
      configError(() =>
        esalesOptionsFromEnv({
          ESALES_CLUSTER_ID: 'w1',
          ESALES_DEFAULT_MARKET: 'UK',
          ESALES_CONSENT: 'true',
        }),
      ).problems,
    ).toEqual([expect.stringMatching(/^ESALES_CONSENT: is not a variable nestjs-esales reads/)]);
  });
});

/* What the fuzz suite (test/fuzz/configuration.spec.ts) found, reduced to its counterexamples. */
describe('found by the fuzz suite', () => {
  const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
  const base = { clusterId: 'w1', defaultMarket: 'UK' };

  it('an unknown option name is quoted and sanitised, at the top, in cookieNames and in a market', () => {
    const problems = problemsOf({
      ...base,
      '\u0000': 0,
      cookieNames: { 'x\u2028y': 'a' },
      markets: { UK: { 'evil\u202e': 1 } },
    });
    for (const problem of problems) expect(problem).not.toMatch(UNSAFE);
    expect(problems).toEqual(
      expect.arrayContaining([
        '"\\u{0}": is not a known option',
        'cookieNames."x y": is not a known option',
        'markets["UK"]."evil\\u{202e}": is not a known option',
      ]),
    );
  });

  it.each([
    ['a string with a line break', '1\n'],
    ['an object without a prototype', Object.create(null) as unknown],
    ['a symbol', Symbol('x')],
  ])(
    'minConcurrency beside a maxConcurrency that is %s: one problem, no echo, no TypeError',
    (_name, max) => {
      const problems = problemsOf({ ...base, minConcurrency: 2, maxConcurrency: max });
      expect(problems.some((p) => p.startsWith('maxConcurrency:'))).toBe(true);
      expect(problems.some((p) => p.startsWith('minConcurrency:'))).toBe(false);
      for (const problem of problems) expect(problem).not.toMatch(UNSAFE);
    },
  );

  it('minConcurrency above a valid maxConcurrency is still a problem', () => {
    expect(problemsOf({ ...base, minConcurrency: 9, maxConcurrency: 4 })).toEqual([
      'minConcurrency: must not exceed maxConcurrency (4)',
    ]);
  });
});
