import { DELIVERY_NAMES } from '../delivery/esales-delivery-backend.interface.js';
import { TRANSPORT_NAMES } from '../transport/transport-names.js';
import { EsalesConfigError } from '../errors/esales-config.error.js';
import {
  BEACON_ENV_NAMES,
  BULLMQ_ENV_NAMES,
  ESALES_ENV_ORIGIN,
  ESALES_ENV_PREFIX,
  envNameForOption,
  marketEnvKey,
} from './esales-env.js';
import type {
  EsalesBullmqOptions,
  EsalesMarketOptions,
  EsalesModuleOptions,
} from './esales-options.interface.js';
import { marketNameProblem, quoteForMessage } from './market-names.js';
import { checkEsalesOptions } from './resolve-esales-options.js';

/** The environment shape `esalesOptionsFromEnv` reads: `process.env` or any plain record. */
export type EsalesEnv = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const MARKET_STRINGS = ['clusterUrl', 'clusterId', 'privateKey'] as const;
const PER_MARKET_VARIABLE = /^ESALES_MARKET_(.+)_(CLUSTER_URL|CLUSTER_ID|PRIVATE_KEY)$/;
/** The options read as whole numbers. */
const INTEGER_OPTIONS = [
  'requestTimeoutMs',
  'maxQueueSize',
  'minConcurrency',
  'maxConcurrency',
  'maxAttempts',
  'retryBaseDelayMs',
  'retryMaxDelayMs',
  'deliveryTimeoutMs',
  'shutdownTimeoutMs',
  'breakerThreshold',
  'breakerCooldownMs',
] as const satisfies ReadonlyArray<keyof EsalesModuleOptions>;
/** The options read as booleans. */
const BOOLEAN_OPTIONS = [
  'enabled',
  'allowInsecureClusterUrl',
  'assignVisitorCookies',
  'ignoreBots',
  'metrics',
  'traceNotifications',
] as const satisfies ReadonlyArray<keyof EsalesModuleOptions>;
/** Every top-level option that has a variable; `ESALES_*` names outside these are typos. */
const ENV_OPTIONS = [
  ...MARKET_STRINGS,
  'defaultMarket',
  'markets',
  'cookieDomain',
  'cookieSecure',
  'transport',
  'delivery',
  'concurrency',
  ...BOOLEAN_OPTIONS,
  ...INTEGER_OPTIONS,
] as const satisfies ReadonlyArray<keyof EsalesModuleOptions>;
const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  ...ENV_OPTIONS.map((o) => envNameForOption(o)),
  ...Object.values(BULLMQ_ENV_NAMES),
  ...Object.values(BEACON_ENV_NAMES),
]);

/**
 * Every variable `esalesOptionsFromEnv` reads: the top-level ones, then the per-market patterns with
 * `<M>` for the market key. For checking that docs and `.env` files are complete.
 */
export const ESALES_ENV_VARIABLES: readonly string[] = Object.freeze([
  ...KNOWN_VARIABLES,
  ...MARKET_STRINGS.map(
    (option) =>
      `${ESALES_ENV_PREFIX}MARKET_<M>_${envNameForOption(option).slice(ESALES_ENV_PREFIX.length)}`,
  ),
]);

/** Options of `esalesOptionsFromEnv`. */
export interface EsalesEnvOptions {
  /**
   * Let `ESALES_*` names this package does not read pass, for an app whose own variables share the
   * prefix. Off by default, so a typo (`ESALES_CLUSTERURL`) stops the app at boot instead of being
   * ignored; per-market variables for a market not in `ESALES_MARKETS` stay errors either way.
   * @default false
   */
  readonly allowUnknown?: boolean;
}

/**
 * Maps `ESALES_*` environment variables to `EsalesModuleOptions`. Pure: reads only `env`.
 * `ESALES_REDIS_URL`, `ESALES_BULLMQ_QUEUE` and `ESALES_BULLMQ_WORKER` go to `bullmq` (`redisUrl`,
 * `queueName`, `worker`); they need `ESALES_DELIVERY=bullmq`. `ESALES_BEACON_PATH` goes to
 * `beacon.path` (the endpoint's other options have no variable: spread them in beside it).
 *
 * Unset and blank variables are left out, so module defaults apply. Malformed values (a non-numeric
 * timeout, `ESALES_ENABLED=maybe`, `ESALES_TRANSPORT=fetch`, a per-market variable for a market not
 * in `ESALES_MARKETS`, an `ESALES_*` name this package does not read) are errors, never silent
 * defaults: they are thrown together, with every other problem the environment has, as one
 * `EsalesConfigError`. The messages name the variable and what it must be, never a malformed value
 * (a secret pasted into the wrong variable stays out of the logs) nor a private key.
 *
 * @param env the environment to read; defaults to `process.env`.
 * @param options `allowUnknown: true` lets `ESALES_*` names this package does not read pass.
 * @throws EsalesConfigError naming every malformed variable.
 */
export function esalesOptionsFromEnv(
  env: EsalesEnv = process.env,
  envOptions: EsalesEnvOptions = {},
): EsalesModuleOptions {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const options: Partial<EsalesModuleOptions> = {};

  for (const option of MARKET_STRINGS) {
    const value = read(envNameForOption(option));
    if (value !== undefined) options[option] = value;
  }
  const defaultMarket = read(envNameForOption('defaultMarket'));
  if (defaultMarket !== undefined) options.defaultMarket = defaultMarket;
  const cookieDomain = read(envNameForOption('cookieDomain'));
  if (cookieDomain !== undefined) options.cookieDomain = cookieDomain;

  const marketsVariable = envNameForOption('markets');
  const marketList = read(marketsVariable);
  const listedKeys = new Map<string, string>();
  if (marketList !== undefined) {
    // A Map, not an object: a market name never reaches a prototype (`__proto__` is refused anyway).
    const markets = new Map<string, EsalesMarketOptions>();
    const entries = marketList
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    for (const [index, market] of entries.entries()) {
      const nameProblem = marketNameProblem(market);
      if (nameProblem) {
        // The name is malformed: say which entry, never what it holds.
        problems.push(
          `${marketsVariable}: market ${index + 1} of ${entries.length} in the list ${nameProblem}`,
        );
        continue;
      }
      const key = marketEnvKey(market);
      const clash = listedKeys.get(key);
      if (clash !== undefined) {
        problems.push(
          clash === market
            ? `${marketsVariable}: ${quoteForMessage(market)} is listed twice`
            : `${marketsVariable}: ${quoteForMessage(clash)} and ${quoteForMessage(market)} both map to ` +
                `ESALES_MARKET_${key}_*; rename one`,
        );
        continue;
      }
      listedKeys.set(key, market);
      const marketOptions: EsalesMarketOptions = {};
      for (const option of MARKET_STRINGS) {
        const value = read(envNameForOption(option, market));
        if (value !== undefined) marketOptions[option] = value;
      }
      markets.set(market, marketOptions);
    }
    // Object.fromEntries defines own properties; it never assigns through a prototype setter.
    options.markets = Object.fromEntries(markets);
  }
  for (const name of Object.keys(env).sort()) {
    if (
      !name.startsWith(ESALES_ENV_PREFIX) ||
      KNOWN_VARIABLES.has(name) ||
      read(name) === undefined
    ) {
      continue;
    }
    const match = PER_MARKET_VARIABLE.exec(name);
    if (!match) {
      if (!envOptions.allowUnknown) {
        problems.push(
          `${safeName(name)}: is not a variable nestjs-esales reads (a typo? esalesOptionsFromEnv(env, ` +
            '{ allowUnknown: true }) lets your own ESALES_* variables pass)',
        );
      }
    } else if (!listedKeys.has(match[1] ?? '')) {
      problems.push(
        `${safeName(name)}: is set, but no market in ${marketsVariable} maps to ${safeName(match[1] ?? '')}` +
          (marketList === undefined ? ` (${marketsVariable} is not set)` : ''),
      );
    }
  }

  for (const option of BOOLEAN_OPTIONS) {
    const value = readBoolean(env, envNameForOption(option), problems);
    if (value !== undefined) options[option] = value;
  }
  for (const option of INTEGER_OPTIONS) {
    const value = readInteger(env, envNameForOption(option), problems);
    if (value !== undefined) options[option] = value;
  }
  const cookieSecure = readCookieSecure(env, envNameForOption('cookieSecure'), problems);
  if (cookieSecure !== undefined) options.cookieSecure = cookieSecure;
  const transport = readChoice(env, envNameForOption('transport'), TRANSPORT_NAMES, problems);
  if (transport !== undefined) options.transport = transport;
  const concurrency = readConcurrency(env, envNameForOption('concurrency'), problems);
  if (concurrency !== undefined) options.concurrency = concurrency;
  const delivery = readChoice(env, envNameForOption('delivery'), DELIVERY_NAMES, problems);
  if (delivery !== undefined) options.delivery = delivery;
  // Read whatever ESALES_DELIVERY says: with another backend, resolving reports them as misplaced.
  const bullmq: EsalesBullmqOptions = {};
  const redisUrl = read(BULLMQ_ENV_NAMES.redisUrl);
  if (redisUrl !== undefined) bullmq.redisUrl = redisUrl;
  const queueName = read(BULLMQ_ENV_NAMES.queueName);
  if (queueName !== undefined) bullmq.queueName = queueName;
  const worker = readBoolean(env, BULLMQ_ENV_NAMES.worker, problems);
  if (worker !== undefined) bullmq.worker = worker;
  if (Object.keys(bullmq).length > 0) options.bullmq = bullmq;
  const beaconPath = read(BEACON_ENV_NAMES.path);
  if (beaconPath !== undefined) options.beacon = { path: beaconPath };

  Object.defineProperty(options, ESALES_ENV_ORIGIN, { value: true, enumerable: true });
  if (problems.length > 0) {
    // Report what the rest of the environment gets wrong too, so one restart fixes everything.
    const rest = checkEsalesOptions(options).problems;
    throw new EsalesConfigError([...problems, ...rest.filter((p) => !problems.includes(p))]);
  }
  return options as EsalesModuleOptions;
}

/*
 * The readers below report a malformed value by the variable's name and what it must be, never by
 * the value: it may be a secret pasted into the wrong variable.
 */

/** A variable name as it may appear in a message: quoted and escaped unless it is plain. */
const safeName = (name: string): string =>
  /^[A-Za-z0-9_]*$/.test(name) ? name : quoteForMessage(name);

const BOOLEAN_SPELLINGS = '(also 1/0, yes/no, on/off)';

function readBoolean(env: EsalesEnv, name: string, problems: string[]): boolean | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = raw.toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  problems.push(`${name}: must be true or false ${BOOLEAN_SPELLINGS}`);
  return undefined;
}

/** `auto` (any case) or a boolean. */
function readCookieSecure(
  env: EsalesEnv,
  name: string,
  problems: string[],
): 'auto' | boolean | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = raw.toLowerCase();
  if (value === 'auto') return 'auto';
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  problems.push(`${name}: must be auto, true or false ${BOOLEAN_SPELLINGS}`);
  return undefined;
}

/** One of `choices`, case-insensitively. */
function readChoice<T extends string>(
  env: EsalesEnv,
  name: string,
  choices: readonly T[],
  problems: string[],
): T | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = choices.find((choice) => choice === raw.toLowerCase());
  if (value === undefined) problems.push(`${name}: must be ${choices.join(' or ')}`);
  return value;
}

/** `adaptive` (any case) or a whole number. */
function readConcurrency(
  env: EsalesEnv,
  name: string,
  problems: string[],
): number | 'adaptive' | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (raw.toLowerCase() === 'adaptive') return 'adaptive';
  if (/^\d+$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  problems.push(`${name}: must be "adaptive" or a whole number`);
  return undefined;
}

function readInteger(env: EsalesEnv, name: string, problems: string[]): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    problems.push(`${name}: must be a whole number`);
    return undefined;
  }
  return Number(raw);
}
