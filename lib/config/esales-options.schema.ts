import {
  IsBoolean,
  IsInstance,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateBy,
} from 'class-validator';
import { COOKIE_NAME_PATTERN } from '../click-tracking/visitor-cookies.js';
import { marketNameProblem } from './market-names.js';
import { DELIVERY_NAMES } from '../delivery/esales-delivery-backend.interface.js';
import { normaliseOrigin } from '../beacon/beacon-request.js';
import {
  BEACON_LIMITS,
  BULLMQ_LIMITS,
  DELIVERY_LIMITS,
  MAX_REQUEST_TIMEOUT_MS,
} from '../esales.constants.js';
import { TRANSPORT_NAMES } from '../transport/transport-names.js';

// Decorator sets used more than once. Decorators run bottom-up: each set lists the type check last.
const wholeNumber = (min: number, max: number, unit: string): PropertyDecorator[] => [
  IsOptional(),
  Max(max, { message: `must be at most ${max}` }),
  Min(min, { message: `must be at least ${min}` }),
  IsInt({ message: `must be a whole number${unit}` }),
];
const applyAll =
  (decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, key) => {
    // Same bottom-up order as stacked decorators: the type check runs first.
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };
const ms = ' of milliseconds';
const hook = (): PropertyDecorator =>
  applyAll([IsOptional(), IsInstance(Function, { message: 'must be a function' })]);

const optionalBoolean = (): PropertyDecorator =>
  applyAll([IsOptional(), IsBoolean({ message: 'must be true or false' })]);
const cookieName = (): PropertyDecorator =>
  applyAll([
    IsOptional(),
    Matches(COOKIE_NAME_PATTERN, { message: 'must be a valid cookie name' }),
    IsString({ message: 'must be a string' }),
  ]);

/**
 * A cookie `Domain` attribute, by the rule `cookie.serialize` (cookie 1.x) applies, so that a domain
 * that passes boot validation can be set: labels of 1 to 63 letters, digits and `-`, neither
 * starting nor ending with `-`, separated by dots, with an optional leading dot.
 */
export const COOKIE_DOMAIN_PATTERN =
  /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** The message of `COOKIE_DOMAIN_PATTERN`. */
export const COOKIE_DOMAIN_MESSAGE =
  'must be a domain name such as .example.com: labels of 1 to 63 letters, digits and "-", ' +
  'not starting or ending with "-", separated by dots, with an optional leading dot';

/** The values of `cookieSecure`. */
export const COOKIE_SECURE_VALUES: readonly unknown[] = Object.freeze(['auto', true, false]);

/** @internal class-validator schema of `cookieNames`. */
export class EsalesCookieNamesSchema {
  @cookieName()
  sessionKey?: unknown;

  @cookieName()
  customerKey?: unknown;

  @cookieName()
  token?: unknown;
}

/** A custom `EsalesTransport`: anything with a `send` method. */
const isTransportObject = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { send?: unknown }).send === 'function';

/** The methods of an `EsalesDeliveryBackend`. */
const DELIVERY_BACKEND_METHODS = ['start', 'enqueue', 'flush', 'stats', 'health', 'close'] as const;

/** A custom `EsalesDeliveryBackend`: anything with its six methods. */
export const isDeliveryBackendObject = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  DELIVERY_BACKEND_METHODS.every(
    (method) => typeof (value as Record<string, unknown>)[method] === 'function',
  );

/** Whether `value` is a valid `delivery` option (a name or a backend object). */
export const isDeliveryOption = (value: unknown): boolean =>
  (DELIVERY_NAMES as readonly unknown[]).includes(value) || isDeliveryBackendObject(value);

/** What `bullmq.queueName` must match: BullMQ forbids `:` (its key separator) in queue names. */
export const BULLMQ_QUEUE_NAME_PATTERN = new RegExp(
  `^[A-Za-z0-9_-]{1,${BULLMQ_LIMITS.queueNameLength}}$`,
);

/** Whether `value` parses as a `redis://` or `rediss://` URL. */
const isRedisUrl = (value: unknown): boolean => {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
};

/**
 * @internal class-validator schema of `bullmq`. Messages omit the name: callers prefix it. None
 * shows the value: `redisUrl` may carry a password.
 */
export class EsalesBullmqOptionsSchema {
  @IsOptional()
  @ValidateBy({
    name: 'isEsalesRedisUrl',
    validator: {
      validate: isRedisUrl,
      defaultMessage: () => 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0',
    },
  })
  @IsString({ message: 'must be a string' })
  redisUrl?: unknown;

  @IsOptional()
  @IsObject({ message: 'must be an ioredis instance or ioredis connection options (an object)' })
  connection?: unknown;

  @IsOptional()
  @Matches(BULLMQ_QUEUE_NAME_PATTERN, {
    message:
      `must be 1 to ${BULLMQ_LIMITS.queueNameLength} letters, digits, "_" or "-" ` +
      '(BullMQ forbids ":")',
  })
  @IsString({ message: 'must be a string' })
  queueName?: unknown;

  @optionalBoolean()
  worker?: unknown;

  @applyAll(wholeNumber(BULLMQ_LIMITS.minIntervalMs, BULLMQ_LIMITS.maxIntervalMs, ms))
  stalledIntervalMs?: unknown;

  @applyAll(wholeNumber(BULLMQ_LIMITS.minIntervalMs, BULLMQ_LIMITS.maxIntervalMs, ms))
  lockDurationMs?: unknown;
}

/**
 * What `beacon.path` must match: `/`-separated segments of URL-safe characters, so that Nest's
 * route syntax (`:param`, `*`, `{…}`) never applies, and no `.` or `..` segment.
 */
export const BEACON_PATH_PATTERN = new RegExp(
  `^(?=.{2,${BEACON_LIMITS.pathLength}}$)(?:/(?!\\.\\.?(?:/|$))[A-Za-z0-9._~-]+)+$`,
);

/** Whether `value` is a `beacon.rateLimit`: false, or an object (its fields checked on their own). */
const isRateLimitOption = (value: unknown): boolean =>
  value === false || (typeof value === 'object' && value !== null && !Array.isArray(value));

/** @internal class-validator schema of `beacon.rateLimit`. Messages omit the name: callers prefix it. */
export class EsalesBeaconRateLimitSchema {
  @Max(BEACON_LIMITS.points, { message: `must be at most ${BEACON_LIMITS.points}` })
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be a whole number (required)' })
  points!: unknown;

  @Max(BEACON_LIMITS.durationS, { message: `must be at most ${BEACON_LIMITS.durationS}` })
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be a whole number of seconds (required)' })
  durationS!: unknown;
}

/** @internal class-validator schema of `beacon`. Messages omit the name: callers prefix it. */
export class EsalesBeaconOptionsSchema {
  @Matches(BEACON_PATH_PATTERN, {
    message:
      `must be a path such as /esales/notify: "/" and segments of letters, digits, ".", "_", "~" ` +
      `and "-" (no parameters, wildcards, "." or ".." segments), at most ${BEACON_LIMITS.pathLength} characters`,
  })
  @IsString({ message: 'is required (a path such as /esales/notify)' })
  path!: unknown;

  @IsOptional()
  @ValidateBy({
    name: 'isEsalesOriginList',
    validator: {
      validate: (value: unknown) =>
        Array.isArray(value) &&
        value.every((entry) => typeof entry === 'string' && normaliseOrigin(entry) !== undefined),
      defaultMessage: () =>
        'must be a list of origins such as ["https://www.example.com"] (http or https, host and ' +
        'port, no path, query or credentials)',
    },
  })
  allowedOrigins?: unknown;

  @applyAll(wholeNumber(BEACON_LIMITS.minBodyBytes, BEACON_LIMITS.maxBodyBytes, ' of bytes'))
  maxBodyBytes?: unknown;

  @IsOptional()
  @ValidateBy({
    name: 'isEsalesBeaconRateLimit',
    validator: {
      validate: isRateLimitOption,
      defaultMessage: () => 'must be false or an object such as { points: 20, durationS: 10 }',
    },
  })
  rateLimit?: unknown;
}

/** Cluster ids are used as a host name label, so only letters, digits and dashes are safe. */
export const CLUSTER_ID_PATTERN = /^[A-Za-z0-9-]+$/;

// Decorators run bottom-up; the type check sits lowest so `stopAtFirstError` reports it first.

/** @internal class-validator schema of one market's overrides. Messages omit the name: callers prefix it. */
export class EsalesMarketOptionsSchema {
  @IsOptional()
  @IsNotEmpty({ message: 'must not be empty' })
  @IsString({ message: 'must be a string' })
  clusterUrl?: unknown;

  @IsOptional()
  @Matches(CLUSTER_ID_PATTERN, { message: 'must contain only letters, digits and "-"' })
  @IsString({ message: 'must be a string' })
  clusterId?: unknown;

  @IsOptional()
  @IsNotEmpty({ message: 'must not be empty' })
  @IsString({ message: 'must be a string' })
  privateKey?: unknown;
}

/** @internal class-validator schema of `EsalesModuleOptions`' cluster, market and request options. */
export class EsalesOptionsSchema extends EsalesMarketOptionsSchema {
  // The rule `markets` keys and ESALES_MARKETS entries are held to (market-names.ts).
  @ValidateBy({
    name: 'isEsalesMarketName',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !marketNameProblem(value),
      defaultMessage: (args) =>
        (typeof args?.value === 'string' && marketNameProblem(args.value)) ||
        'must be a market name',
    },
  })
  @IsString({ message: 'is required (a market name such as "UK")' })
  defaultMarket!: unknown;

  @IsOptional()
  @IsObject({ message: 'must be an object keyed by market' })
  markets?: unknown;

  @IsOptional()
  @Max(MAX_REQUEST_TIMEOUT_MS, { message: `must be at most ${MAX_REQUEST_TIMEOUT_MS}` })
  @Min(1, { message: 'must be at least 1' })
  @IsInt({ message: 'must be a whole number of milliseconds' })
  requestTimeoutMs?: unknown;

  @IsOptional()
  @ValidateBy({
    name: 'isEsalesTransport',
    validator: {
      validate: (value: unknown) =>
        (TRANSPORT_NAMES as readonly unknown[]).includes(value) || isTransportObject(value),
      defaultMessage: () =>
        `must be ${TRANSPORT_NAMES.map((name) => `"${name}"`).join(' or ')}, ` +
        'or an object with a send() method (an EsalesTransport)',
    },
  })
  transport?: unknown;

  @optionalBoolean()
  enabled?: unknown;

  @optionalBoolean()
  allowInsecureClusterUrl?: unknown;

  @optionalBoolean()
  metrics?: unknown;

  @optionalBoolean()
  traceNotifications?: unknown;
}

/** @internal class-validator schema of the complete `EsalesModuleOptions`, delivery engine included. */
export class EsalesModuleOptionsSchema extends EsalesOptionsSchema {
  @IsOptional()
  @ValidateBy({
    name: 'isEsalesDelivery',
    validator: {
      validate: isDeliveryOption,
      defaultMessage: () =>
        `must be ${DELIVERY_NAMES.map((name) => `"${name}"`).join(' or ')}, or an object with ` +
        `${DELIVERY_BACKEND_METHODS.map((method) => `${method}()`).join(', ')} methods ` +
        '(an EsalesDeliveryBackend)',
    },
  })
  delivery?: unknown;

  @IsOptional()
  @IsObject({ message: 'must be an object such as { redisUrl: "redis://127.0.0.1:6379" }' })
  bullmq?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.maxQueueSize, ''))
  maxQueueSize?: unknown;

  @IsOptional()
  @ValidateBy({
    name: 'isEsalesConcurrency',
    validator: {
      validate: (value: unknown) =>
        value === 'adaptive' ||
        (Number.isInteger(value) &&
          (value as number) >= 1 &&
          (value as number) <= DELIVERY_LIMITS.concurrency),
      defaultMessage: () =>
        `must be "adaptive" or a whole number from 1 to ${DELIVERY_LIMITS.concurrency}`,
    },
  })
  concurrency?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.concurrency, ''))
  minConcurrency?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.concurrency, ''))
  maxConcurrency?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.maxAttempts, ''))
  maxAttempts?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.retryBaseDelayMs, ms))
  retryBaseDelayMs?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.retryMaxDelayMs, ms))
  retryMaxDelayMs?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.deliveryTimeoutMs, ms))
  deliveryTimeoutMs?: unknown;

  @applyAll(wholeNumber(0, DELIVERY_LIMITS.shutdownTimeoutMs, ms))
  shutdownTimeoutMs?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.breakerThreshold, ''))
  breakerThreshold?: unknown;

  @applyAll(wholeNumber(1, DELIVERY_LIMITS.breakerCooldownMs, ms))
  breakerCooldownMs?: unknown;

  @hook()
  onDelivered?: unknown;

  @hook()
  onFailed?: unknown;

  @hook()
  onDropped?: unknown;

  @hook()
  resolveMarket?: unknown;

  @hook()
  resolveVisitor?: unknown;

  @optionalBoolean()
  assignVisitorCookies?: unknown;

  @optionalBoolean()
  ignoreBots?: unknown;

  @IsOptional()
  @IsObject({ message: 'must be an object such as { sessionKey: "apptus.sessionKey" }' })
  cookieNames?: unknown;

  @IsOptional()
  @Matches(COOKIE_DOMAIN_PATTERN, { message: COOKIE_DOMAIN_MESSAGE })
  @IsString({ message: 'must be a string' })
  cookieDomain?: unknown;

  @IsOptional()
  @ValidateBy({
    name: 'isEsalesCookieSecure',
    validator: {
      validate: (value: unknown) => COOKIE_SECURE_VALUES.includes(value),
      defaultMessage: () => 'must be "auto", true or false',
    },
  })
  cookieSecure?: unknown;

  @hook()
  consent?: unknown;

  @IsOptional()
  @IsObject({ message: 'must be an object such as { path: "/esales/notify" }' })
  beacon?: unknown;
}
