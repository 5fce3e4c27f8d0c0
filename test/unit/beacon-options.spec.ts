import { describe, expect, it } from '@jest/globals';
import {
  ESALES_ENV_VARIABLES,
  esalesOptionsFromEnv,
  type EsalesEnv,
} from '../../lib/config/esales-options-from-env.js';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import {
  resolveEsalesOptions,
  type ResolvedEsalesOptions,
} from '../../lib/config/resolve-esales-options.js';
import { BEACON_DEFAULTS } from '../../lib/esales.constants.js';
import { configError } from '../support/config-errors.js';

/* The `beacon` option and its variable (ESALES_BEACON_PATH): validation and defaults. */

const base = { clusterId: 'w1', defaultMarket: 'UK' } as const;
const envBase = { ESALES_CLUSTER_ID: 'w1', ESALES_DEFAULT_MARKET: 'UK' } as const;

const resolve = (options: Partial<EsalesModuleOptions>): ResolvedEsalesOptions =>
  resolveEsalesOptions({ ...base, ...options });
const problemsOf = (options: Record<string, unknown>): readonly string[] =>
  configError(() => resolveEsalesOptions({ ...base, ...options })).problems;
const envProblemsOf = (env: EsalesEnv): readonly string[] =>
  configError(() => resolveEsalesOptions(esalesOptionsFromEnv({ ...envBase, ...env }))).problems;

describe('the beacon option', () => {
  it('is off by default', () => {
    expect(resolve({}).beacon).toBeUndefined();
    expect(resolve({ beacon: null as never }).beacon).toBeUndefined();
  });

  it('applies the defaults: same-origin only, 4 KiB, 20 posts per 10 s', () => {
    const { beacon } = resolve({ beacon: { path: '/esales/notify' } });
    expect(beacon?.path).toBe('/esales/notify');
    expect([...(beacon?.allowedOrigins ?? [])]).toEqual([]);
    expect(beacon?.maxBodyBytes).toBe(4_096);
    expect(beacon?.rateLimit).toEqual({ points: 20, durationS: 10 });
    expect(BEACON_DEFAULTS.rateLimit).toEqual({ points: 20, durationS: 10 });
    expect(Object.isFrozen(beacon)).toBe(true);
  });

  it('keeps what is given, origins normalised', () => {
    const { beacon } = resolve({
      beacon: {
        path: '/api/elevate/beacon.v1',
        allowedOrigins: ['https://WWW.Example.com/', 'http://localhost:3000'],
        maxBodyBytes: 1_024,
        rateLimit: { points: 100, durationS: 60 },
      },
    });
    expect([...(beacon?.allowedOrigins ?? [])]).toEqual([
      'https://www.example.com',
      'http://localhost:3000',
    ]);
    expect(beacon?.maxBodyBytes).toBe(1_024);
    expect(beacon?.rateLimit).toEqual({ points: 100, durationS: 60 });
  });

  it('turns the rate limit off with false', () => {
    expect(resolve({ beacon: { path: '/b', rateLimit: false } }).beacon?.rateLimit).toBe(false);
  });

  it.each<[string, unknown, string]>([
    [
      'not an object',
      '/esales/notify',
      'beacon: must be an object such as { path: "/esales/notify" }',
    ],
    ['without a path', {}, 'beacon.path: is required (a path such as /esales/notify)'],
    [
      'a relative path',
      { path: 'esales/notify' },
      'beacon.path: must be a path such as /esales/notify',
    ],
    ['the root', { path: '/' }, 'beacon.path: must be a path such as /esales/notify'],
    ['a trailing slash', { path: '/esales/' }, 'beacon.path: must be a path'],
    ['a parameter', { path: '/esales/:kind' }, 'beacon.path: must be a path'],
    ['a wildcard', { path: '/esales/*' }, 'beacon.path: must be a path'],
    ['a .. segment', { path: '/esales/../admin' }, 'beacon.path: must be a path'],
    ['a query', { path: '/esales?x=1' }, 'beacon.path: must be a path'],
    ['a long path', { path: `/${'a'.repeat(200)}` }, 'beacon.path: must be a path'],
    [
      'origins that are no list',
      { path: '/b', allowedOrigins: 'https://a.example' },
      'beacon.allowedOrigins: must be a list of origins',
    ],
    [
      'an origin with a path',
      { path: '/b', allowedOrigins: ['https://a.example/shop'] },
      'beacon.allowedOrigins: must be a list of origins',
    ],
    [
      'a wildcard origin',
      { path: '/b', allowedOrigins: ['*'] },
      'beacon.allowedOrigins: must be a list of origins',
    ],
    [
      'a tiny body limit',
      { path: '/b', maxBodyBytes: 10 },
      'beacon.maxBodyBytes: must be at least 64',
    ],
    [
      'a huge body limit',
      { path: '/b', maxBodyBytes: 1_000_000 },
      'beacon.maxBodyBytes: must be at most 65536',
    ],
    [
      'a fractional body limit',
      { path: '/b', maxBodyBytes: 100.5 },
      'beacon.maxBodyBytes: must be a whole number of bytes',
    ],
    [
      'a rate limit of true',
      { path: '/b', rateLimit: true },
      'beacon.rateLimit: must be false or an object',
    ],
    [
      'a rate limit without points',
      { path: '/b', rateLimit: { durationS: 10 } },
      'beacon.rateLimit.points: must be a whole number (required)',
    ],
    [
      'zero points',
      { path: '/b', rateLimit: { points: 0, durationS: 10 } },
      'beacon.rateLimit.points: must be at least 1',
    ],
    [
      'a day and more',
      { path: '/b', rateLimit: { points: 1, durationS: 86_401 } },
      'beacon.rateLimit.durationS: must be at most 86400',
    ],
    [
      'an unknown rate-limit field',
      { path: '/b', rateLimit: { points: 1, durationS: 1, burst: 2 } },
      'beacon.rateLimit.burst: is not a known option',
    ],
    ['an unknown field', { path: '/b', methods: ['GET'] }, 'beacon.methods: is not a known option'],
    [
      'a __proto__ key',
      JSON.parse('{"path":"/b","__proto__":{"x":1}}'),
      'beacon.__proto__: is not a known option',
    ],
  ])('refuses %s', (_, beacon, problem) => {
    const problems = problemsOf({ beacon });
    expect(problems.some((p) => p.startsWith(problem))).toBe(true);
  });

  it('never shows a malformed path or origin', () => {
    const secret = 'hunter2-s3cret';
    const problems = problemsOf({
      beacon: { path: `/${secret}?`, allowedOrigins: [`https://${secret}/x`] },
    });
    expect(problems.join('\n')).not.toContain(secret);
  });
});

describe('ESALES_BEACON_PATH', () => {
  it('is a known variable, listed in ESALES_ENV_VARIABLES', () => {
    expect(ESALES_ENV_VARIABLES).toContain('ESALES_BEACON_PATH');
  });

  it('maps to beacon.path, trimmed, and resolves with the defaults', () => {
    const options = esalesOptionsFromEnv({ ...envBase, ESALES_BEACON_PATH: ' /esales/notify ' });
    expect(options.beacon).toEqual({ path: '/esales/notify' });
    expect(resolveEsalesOptions(options).beacon?.maxBodyBytes).toBe(4_096);
  });

  it('leaves beacon out when unset or blank', () => {
    expect(esalesOptionsFromEnv({ ...envBase }).beacon).toBeUndefined();
    expect(esalesOptionsFromEnv({ ...envBase, ESALES_BEACON_PATH: '  ' }).beacon).toBeUndefined();
  });

  it('is named in the problem of a malformed path', () => {
    expect(envProblemsOf({ ESALES_BEACON_PATH: 'esales/notify' })).toEqual([
      expect.stringMatching(/^beacon\.path \(ESALES_BEACON_PATH\): must be a path such as/),
    ]);
  });
});
