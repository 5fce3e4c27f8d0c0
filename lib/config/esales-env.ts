import type { EsalesModuleOptions } from './esales-options.interface.js';

/**
 * Marks an options object produced by `esalesOptionsFromEnv`, so boot-time validation can name the
 * env variables in its messages. An enumerable symbol survives `{ ...spread }` and @nestjs/config.
 */
export const ESALES_ENV_ORIGIN: unique symbol = Symbol.for('nestjs-esales.options-from-env');

/** Prefix of every environment variable this package reads. */
export const ESALES_ENV_PREFIX = 'ESALES_';

/** `<M>` in `ESALES_MARKET_<M>_…`: the market upper-cased, every non-alphanumeric as `_`. */
export const marketEnvKey = (market: string): string =>
  market.toUpperCase().replace(/[^A-Z0-9]/g, '_');

const screamingSnake = (camel: string): string =>
  camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** The env variable an option is read from: `clusterUrl` → `ESALES_CLUSTER_URL`. */
export const envNameForOption = (option: string, market?: string): string =>
  market === undefined
    ? `${ESALES_ENV_PREFIX}${screamingSnake(option)}`
    : `${ESALES_ENV_PREFIX}MARKET_${marketEnvKey(market)}_${screamingSnake(option)}`;

/**
 * The variables of the `bullmq` options that have one, by option. Their names do not follow
 * `envNameForOption`: `ESALES_REDIS_URL`, not `ESALES_BULLMQ_REDIS_URL`.
 */
export const BULLMQ_ENV_NAMES = Object.freeze({
  redisUrl: `${ESALES_ENV_PREFIX}REDIS_URL`,
  queueName: `${ESALES_ENV_PREFIX}BULLMQ_QUEUE`,
  worker: `${ESALES_ENV_PREFIX}BULLMQ_WORKER`,
} as const);

/** The variable a `bullmq` option is read from, if it has one (`redisUrl` → `ESALES_REDIS_URL`). */
export const bullmqEnvNameForOption = (option: string): string | undefined =>
  Object.hasOwn(BULLMQ_ENV_NAMES, option)
    ? BULLMQ_ENV_NAMES[option as keyof typeof BULLMQ_ENV_NAMES]
    : undefined;

/** The variables of the `beacon` options that have one: only the path (`ESALES_BEACON_PATH`). */
export const BEACON_ENV_NAMES = Object.freeze({
  path: `${ESALES_ENV_PREFIX}BEACON_PATH`,
} as const);

/** The variable a `beacon` option is read from, if it has one (`path` → `ESALES_BEACON_PATH`). */
export const beaconEnvNameForOption = (option: string): string | undefined =>
  Object.hasOwn(BEACON_ENV_NAMES, option)
    ? BEACON_ENV_NAMES[option as keyof typeof BEACON_ENV_NAMES]
    : undefined;

/** Whether `options` came from `esalesOptionsFromEnv` (possibly spread into another object). */
export const isFromEnv = (options: EsalesModuleOptions): boolean =>
  (options as { [ESALES_ENV_ORIGIN]?: unknown })[ESALES_ENV_ORIGIN] === true;
