import { validateSync, type ValidationError } from 'class-validator';
import { EsalesConfigError } from '../errors/esales-config.error.js';
import type {
  EsalesClickTrackingOptions,
  EsalesCookieNames,
} from '../click-tracking/click-tracking-options.interface.js';
import { DEFAULT_COOKIE_NAMES } from '../click-tracking/visitor-cookies.js';
import type {
  ConcurrencySettings,
  DeliverySettings,
} from '../delivery/delivery-settings.interface.js';
import type {
  EsalesDeliveryBackend,
  EsalesDeliveryName,
} from '../delivery/esales-delivery-backend.interface.js';
import type { EsalesDeliveryHooks } from '../delivery/esales-delivery-hooks.interface.js';
import type { EsalesBeaconRateLimit } from '../beacon/beacon-options.interface.js';
import { normaliseOrigin } from '../beacon/beacon-request.js';
import {
  BEACON_DEFAULTS,
  BULLMQ_DEFAULTS,
  BULLMQ_DELIVERY_TIMEOUT_MS,
  clusterUrlForId,
  DEFAULT_DELIVERY,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DELIVERY_DEFAULTS,
  NOTIFICATION_PATHS,
  WARN_INTERVAL_MS,
} from '../esales.constants.js';
import { DEFAULT_TRANSPORT } from '../transport/transport-names.js';
import { isForbiddenClusterHost, isLoopbackHost, trimTrailingSlashes } from './cluster-hosts.js';
import {
  beaconEnvNameForOption,
  bullmqEnvNameForOption,
  envNameForOption,
  isFromEnv,
} from './esales-env.js';
import { marketNameProblem, quoteForMessage } from './market-names.js';
import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import type {
  EsalesBeaconOptions,
  EsalesBullmqOptions,
  EsalesMarketOptions,
  EsalesModuleOptions,
  EsalesTransportName,
} from './esales-options.interface.js';
import {
  EsalesBeaconOptionsSchema,
  EsalesBeaconRateLimitSchema,
  EsalesBullmqOptionsSchema,
  EsalesCookieNamesSchema,
  EsalesMarketOptionsSchema,
  EsalesModuleOptionsSchema,
  isDeliveryOption,
} from './esales-options.schema.js';

/** @internal Click tracking's module-level settings, defaults applied. */
export interface ClickTrackingSettings {
  readonly assignVisitorCookies: boolean;
  readonly ignoreBots: boolean;
  readonly cookieNames: Readonly<Required<EsalesCookieNames>>;
  readonly cookieDomain?: string;
  /** `Secure` attribute of the cookies set: `'auto'` follows the request's protocol. */
  readonly cookieSecure: 'auto' | boolean;
  readonly resolveMarket?: EsalesClickTrackingOptions['resolveMarket'];
  readonly resolveVisitor?: EsalesClickTrackingOptions['resolveVisitor'];
  /** The app's consent check; undefined when every request counts as consented. */
  readonly consent?: EsalesModuleOptions['consent'];
}

/** The BullMQ backend's settings (`delivery: 'bullmq'`), defaults applied. */
export interface ResolvedBullmqSettings {
  /** The `redis://` / `rediss://` URL; undefined when `connection` is given. May hold a password. */
  readonly redisUrl: string | undefined;
  /** The ioredis instance or connection options; undefined when `redisUrl` is given. */
  readonly connection: object | undefined;
  readonly queueName: string;
  /** Whether this instance runs the workers. */
  readonly worker: boolean;
  readonly stalledIntervalMs: number;
  readonly lockDurationMs: number;
}

/** @internal The beacon endpoint's settings (`beacon`), defaults applied. */
export interface BeaconSettings {
  /** The path served, as configured. */
  readonly path: string;
  /** The other origins whose pages may post, normalised (`https://www.example.com`). */
  readonly allowedOrigins: ReadonlySet<string>;
  readonly maxBodyBytes: number;
  /** Posts per client IP and window; false when the endpoint does not limit them itself. */
  readonly rateLimit: Readonly<EsalesBeaconRateLimit> | false;
}

/** Where one market's notifications go: the resolved cluster and its endpoint URLs. */
export interface EsalesMarketTarget {
  /** Normalised cluster base URL, without a trailing slash. */
  readonly clusterUrl: string;
  /**
   * Full URL of the non-eSales click endpoint.
   * @deprecated every kind's endpoint is `clusterUrl` + its path in `NOTIFICATION_PATHS`.
   */
  readonly nonEsalesClickUrl: string;
}

/**
 * Options after validation and defaults, as the rest of the package uses them. Built once at boot by
 * `resolveEsalesOptions`; nothing downstream re-checks them.
 */
export class ResolvedEsalesOptions {
  /** Allowed markets in configuration order, or undefined when any market is allowed. */
  readonly markets: readonly string[] | undefined;
  /**
   * The cluster base URLs (as in `clusterUrls`) that are `http://` on a host other than loopback
   * (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`), which `allowInsecureClusterUrl` admits:
   * notifications to them, customer keys and tokens included, travel unencrypted. Empty otherwise.
   * For a warning at boot.
   */
  readonly insecureNonLoopbackClusterUrls: readonly string[];
  // `#` fields, not TypeScript `private`: util.inspect and console.log must not show private keys.
  readonly #fallbackTarget: EsalesMarketTarget | undefined;
  readonly #fallbackPrivateKey: string | undefined;
  readonly #perMarket: ReadonlyMap<string, ResolvedMarket> | undefined;
  // Private like the keys: an app's own transport may hold proxy credentials or auth headers.
  readonly #transport: EsalesTransportName | EsalesTransport;
  // Private like the transport: an app's own backend may hold credentials.
  readonly #deliveryBackend: EsalesDeliveryName | EsalesDeliveryBackend;
  // Private like the keys: the Redis URL may carry a password, the connection its options.
  readonly #bullmq: ResolvedBullmqSettings | undefined;

  constructor(
    /** Whether notifications are sent at all. */
    readonly enabled: boolean,
    /** Market of notifications that name none. */
    readonly defaultMarket: string,
    /** Per-request timeout in milliseconds. */
    readonly requestTimeoutMs: number,
    fallbackTarget: EsalesMarketTarget | undefined,
    fallbackPrivateKey: string | undefined,
    perMarket: ReadonlyMap<string, ResolvedMarket> | undefined,
    /** @internal The delivery engine's settings, defaults applied. */
    readonly delivery: DeliverySettings,
    /** @internal The delivery hooks the app configured. */
    readonly hooks: EsalesDeliveryHooks,
    /** @internal Click tracking's settings, defaults applied. */
    readonly clickTracking: ClickTrackingSettings,
    transport: EsalesTransportName | EsalesTransport = DEFAULT_TRANSPORT,
    deliveryBackend: EsalesDeliveryName | EsalesDeliveryBackend = DEFAULT_DELIVERY,
    bullmq: ResolvedBullmqSettings | undefined = undefined,
    /** @internal `metrics` and `traceNotifications`, defaults applied. */
    readonly telemetry: TelemetrySettings = DEFAULT_TELEMETRY,
    /** @internal The beacon endpoint's settings; undefined when there is no endpoint. */
    readonly beacon: BeaconSettings | undefined = undefined,
  ) {
    this.#transport = transport;
    this.#deliveryBackend = deliveryBackend;
    this.#bullmq = bullmq;
    this.#fallbackTarget = fallbackTarget;
    this.#fallbackPrivateKey = fallbackPrivateKey;
    this.#perMarket = perMarket;
    this.markets = perMarket ? Object.freeze([...perMarket.keys()]) : undefined;
    this.insecureNonLoopbackClusterUrls = Object.freeze(
      this.clusterUrls.filter((clusterUrl) => {
        const url = new URL(clusterUrl);
        return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
      }),
    );
  }

  /** The HTTP client that carries notifications: a built-in one's name, or the app's own. */
  get transport(): EsalesTransportName | EsalesTransport {
    return this.#transport;
  }

  /**
   * Where queued notifications wait until they are delivered: `'memory'` (the in-process engine),
   * `'bullmq'`, or the app's own backend.
   */
  get deliveryBackend(): EsalesDeliveryName | EsalesDeliveryBackend {
    return this.#deliveryBackend;
  }

  /** The BullMQ backend's settings, frozen; undefined unless `deliveryBackend` is `'bullmq'`. */
  get bullmq(): ResolvedBullmqSettings | undefined {
    return this.#bullmq;
  }

  /** Whether notifications for `market` may be sent. */
  isAllowedMarket(market: string): boolean {
    return this.#perMarket === undefined || this.#perMarket.has(market);
  }

  /**
   * Where `market`'s notifications go; undefined for a market that is not allowed, or for any market
   * while disabled without a configured cluster.
   */
  target(market: string): EsalesMarketTarget | undefined {
    return this.#perMarket ? this.#perMarket.get(market)?.target : this.#fallbackTarget;
  }

  /** @internal The distinct cluster base URLs notifications can go to, in configuration order. */
  get clusterUrls(): readonly string[] {
    const urls = new Set<string>();
    if (this.#fallbackTarget) urls.add(this.#fallbackTarget.clusterUrl);
    for (const market of this.#perMarket?.values() ?? []) {
      if (market.target) urls.add(market.target.clusterUrl);
    }
    return [...urls];
  }

  /** The private key for `market`'s customer-key tokens, if one is configured. */
  privateKey(market: string): string | undefined {
    return this.#perMarket ? this.#perMarket.get(market)?.privateKey : this.#fallbackPrivateKey;
  }
}

/** @internal One market's resolved cluster and private key. */
interface ResolvedMarket {
  readonly target?: EsalesMarketTarget;
  readonly privateKey?: string;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type Label = (option: string, market?: string) => string;

/** `markets["UK"]`, the market quoted safely. */
const marketLabel = (market: string): string => `markets[${quoteForMessage(market)}]`;
/** An option name as a message shows it: plain when it is an identifier, else quoted and escaped. */
const optionLabel = (option: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(option) ? option : quoteForMessage(option);

function labeller(fromEnv: boolean): Label {
  return (option, market) => {
    const shown = optionLabel(option);
    const name = market === undefined ? shown : `${marketLabel(market)}.${shown}`;
    return fromEnv && shown === option ? `${name} (${envNameForOption(option, market)})` : name;
  };
}

function schemaProblems(
  errors: readonly ValidationError[],
  label: Label,
  market?: string,
): string[] {
  return errors.map((error) => {
    const constraints = error.constraints ?? {};
    const messages = constraints['whitelistValidation']
      ? ['is not a known option']
      : Object.values(constraints);
    return `${label(error.property, market)}: ${messages.join(', ')}`;
  });
}

/**
 * The problems of `value` against `schema`, each labelled. Keys that name members of
 * `Object.prototype` are reported like any unknown option without being copied onto the schema
 * instance: an own `__proto__` (from JSON.parse, a computed key) would replace its prototype, an
 * own `constructor` would hide its class from class-validator.
 */
function schemaProblemsOf<T extends object>(
  schema: new () => T,
  value: Record<string, unknown>,
  label: Label,
  market?: string,
): string[] {
  const instance = new schema();
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (key in Object.prototype) problems.push(`${label(key, market)}: is not a known option`);
    else (instance as Record<string, unknown>)[key] = value[key];
  }
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
  });
  return [...problems, ...schemaProblems(errors, label, market)];
}

/** The trailing API path a full endpoint URL copied from Elevate's docs has. */
const API_PATH = /\/api\/v1(?:\/notifications(?:\/[^/]*)?)?$/i;

/**
 * Turns a configured cluster (URL or id) into a normalised base URL, or explains why it can't. For
 * options from the environment the messages never show the URL (`fromEnv`).
 */
function clusterBaseUrl(
  options: EsalesMarketOptions,
  allowInsecure: boolean,
  label: Label,
  market: string | undefined,
  problems: string[],
  fromEnv: boolean,
): string | undefined {
  const { clusterUrl, clusterId } = options;
  if (typeof clusterUrl === 'string' && typeof clusterId === 'string') {
    problems.push(
      `${label('clusterUrl', market)} and ${label('clusterId', market)}: give one of them, not both`,
    );
    return undefined;
  }
  if (typeof clusterId === 'string') return clusterUrlForId(clusterId);
  if (typeof clusterUrl !== 'string' || clusterUrl.length === 0) return undefined;

  let url: URL;
  try {
    url = new URL(clusterUrl);
  } catch {
    problems.push(
      `${label('clusterUrl', market)}: must be an absolute URL such as https://w1234ABCD.api.esales.apptus.cloud`,
    );
    return undefined;
  }
  const before = problems.length;
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
    problems.push(
      `${label('clusterUrl', market)}: must be an https:// URL` +
        (url.protocol === 'http:'
          ? ' (set allowInsecureClusterUrl to use http for a local stand-in)'
          : ''),
    );
  }
  // WHATWG URL has normalised the host: 0xA9FEA9FE, 0251.0376.0251.0376 and 169.254.169.254. alike
  // are 169.254.169.254 here, [::ffff:169.254.169.254] is [::ffff:a9fe:a9fe].
  if (isForbiddenClusterHost(url.hostname)) {
    problems.push(
      `${label('clusterUrl', market)}: must not point at a link-local or cloud metadata address ` +
        '(169.254.0.0/16, fe80::/10, 100.100.100.200, fd00:ec2::254, metadata.google.internal), ' +
        'http or https, whatever allowInsecureClusterUrl says',
    );
  }
  if (url.username || url.password) {
    problems.push(`${label('clusterUrl', market)}: must not contain credentials`);
  }
  if (url.search || url.hash) {
    problems.push(`${label('clusterUrl', market)}: must not have a query string or fragment`);
  }
  const path = trimTrailingSlashes(url.pathname);
  // A full endpoint URL copied from Elevate's docs would double the path on every notification.
  const apiAt = path.search(API_PATH);
  if (apiAt >= 0) {
    problems.push(
      fromEnv
        ? `${label('clusterUrl', market)}: is the cluster's base URL, without the API path: ` +
            'remove the trailing /api/v1…'
        : `${label('clusterUrl', market)}: is the cluster's base URL, without the API path ` +
            `(${url.pathname.slice(apiAt)}): use ${url.origin}${path.slice(0, apiAt)}`,
    );
  }
  if (problems.length > before) return undefined;
  return `${url.origin}${path}`;
}

const targetFor = (clusterUrl: string): EsalesMarketTarget =>
  Object.freeze({ clusterUrl, nonEsalesClickUrl: clusterUrl + NOTIFICATION_PATHS.nonEsalesClick });

/**
 * Every problem with `options`, each naming the option (and, for options read from the environment,
 * the variable), plus the resolved options when there is none.
 */
export function checkEsalesOptions(options: unknown): {
  problems: string[];
  resolved?: ResolvedEsalesOptions;
} {
  if (!isPlainObject(options)) {
    return { problems: ['options must be an object'] };
  }
  const fromEnv = isFromEnv(options as unknown as EsalesModuleOptions);
  const label = labeller(fromEnv);
  const problems = schemaProblemsOf(EsalesModuleOptionsSchema, options, label);
  const opts = options as unknown as EsalesModuleOptions;
  const enabled = opts.enabled !== false;
  const allowInsecure = opts.allowInsecureClusterUrl === true;

  const topCluster = clusterBaseUrl(opts, allowInsecure, label, undefined, problems, fromEnv);
  const topPrivateKey = typeof opts.privateKey === 'string' ? opts.privateKey : undefined;

  let perMarket: Map<string, ResolvedMarket> | undefined;
  if (isPlainObject(opts.markets)) {
    perMarket = new Map();
    const entries = Object.entries(opts.markets);
    if (entries.length === 0) problems.push(`${label('markets')}: must list at least one market`);
    for (const [market, marketOptions] of entries) {
      const nameProblem = marketNameProblem(market);
      if (nameProblem) {
        problems.push(
          `${label('markets')}: ${quoteForMessage(market)} is not a usable market name (${nameProblem})`,
        );
        continue;
      }
      if (!isPlainObject(marketOptions)) {
        problems.push(`${marketLabel(market)}: must be an object (use {} for no overrides)`);
        continue;
      }
      problems.push(...schemaProblemsOf(EsalesMarketOptionsSchema, marketOptions, label, market));
      const own = clusterBaseUrl(marketOptions, allowInsecure, label, market, problems, fromEnv);
      const hasOwnCluster = hasClusterOption(marketOptions);
      const cluster = hasOwnCluster ? own : topCluster;
      if (enabled && !hasOwnCluster && !topCluster && !hasClusterOption(opts)) {
        problems.push(
          `${marketLabel(market)}: no cluster: set ${label('clusterUrl', market)} or ` +
            `${label('clusterId', market)}, or a top-level ${label('clusterUrl')} / ${label('clusterId')}`,
        );
      }
      const privateKey =
        typeof marketOptions['privateKey'] === 'string'
          ? marketOptions['privateKey']
          : topPrivateKey;
      perMarket.set(market, {
        ...(cluster ? { target: targetFor(cluster) } : {}),
        ...(privateKey ? { privateKey } : {}),
      });
    }
    // A default market that breaks the market-name rule is reported by the schema already.
    if (
      typeof opts.defaultMarket === 'string' &&
      !marketNameProblem(opts.defaultMarket) &&
      !perMarket.has(opts.defaultMarket)
    ) {
      problems.push(
        `${label('defaultMarket')}: ${quoteForMessage(opts.defaultMarket)} is not one of ${label('markets')} ` +
          `(${[...perMarket.keys()].map(quoteForMessage).join(', ')})`,
      );
    }
  } else if (enabled && !hasClusterOption(opts)) {
    problems.push(`${label('clusterUrl')} or ${label('clusterId')}: one of them is required`);
  }

  if (isPlainObject(opts.cookieNames)) {
    const names = opts.cookieNames;
    const chosen = Object.values({ ...DEFAULT_COOKIE_NAMES, ...definedEntries(names) });
    if (new Set(chosen).size < chosen.length) {
      problems.push(`${label('cookieNames')}: the three cookies need three different names`);
    }
    for (const problem of schemaProblemsOf(EsalesCookieNamesSchema, names, optionLabel)) {
      problems.push(`${label('cookieNames')}.${problem}`);
    }
  }
  if (
    typeof opts.retryBaseDelayMs === 'number' &&
    typeof opts.retryMaxDelayMs === 'number' &&
    opts.retryBaseDelayMs > opts.retryMaxDelayMs
  ) {
    problems.push(
      `${label('retryBaseDelayMs')}: must not exceed ${label('retryMaxDelayMs')} (${opts.retryMaxDelayMs})`,
    );
  }

  const adaptiveOnly = (['minConcurrency', 'maxConcurrency'] as const).filter(
    // null counts as absent, as it does for every other optional option.
    (option) => opts[option] != null,
  );
  if (typeof opts.concurrency === 'number' && adaptiveOnly.length > 0) {
    problems.push(
      `${adaptiveOnly.map((option) => label(option)).join(' and ')}: only apply to ` +
        `${label('concurrency')} "adaptive", not to a fixed ${label('concurrency')} (${opts.concurrency})`,
    );
  }
  // Compared only when both are usable numbers: a malformed maxConcurrency has its own problem, and
  // its value (any type, perhaps a secret pasted in the wrong place) is never echoed.
  const maxConcurrency = opts.maxConcurrency ?? DELIVERY_DEFAULTS.maxConcurrency;
  if (
    typeof opts.minConcurrency === 'number' &&
    typeof maxConcurrency === 'number' &&
    opts.minConcurrency > maxConcurrency
  ) {
    problems.push(
      `${label('minConcurrency')}: must not exceed ${label('maxConcurrency')} ` +
        `(${opts.maxConcurrency == null ? `${maxConcurrency}, the default` : maxConcurrency})`,
    );
  }

  bullmqProblems(opts, fromEnv, label, problems);
  beaconProblems(opts, fromEnv, problems);

  if (problems.length > 0) return { problems };
  const concurrency: ConcurrencySettings =
    typeof opts.concurrency === 'number'
      ? { mode: 'fixed', limit: opts.concurrency }
      : {
          mode: 'adaptive',
          min:
            opts.minConcurrency ??
            Math.min(DELIVERY_DEFAULTS.minConcurrency, opts.maxConcurrency ?? Infinity),
          max: opts.maxConcurrency ?? DELIVERY_DEFAULTS.maxConcurrency,
        };
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const delivery: DeliverySettings = Object.freeze({
    maxQueueSize: opts.maxQueueSize ?? DELIVERY_DEFAULTS.maxQueueSize,
    concurrency: Object.freeze(concurrency),
    maxAttempts: opts.maxAttempts ?? DELIVERY_DEFAULTS.maxAttempts,
    retryBaseDelayMs: opts.retryBaseDelayMs ?? DELIVERY_DEFAULTS.retryBaseDelayMs,
    retryMaxDelayMs: Math.max(
      opts.retryMaxDelayMs ?? DELIVERY_DEFAULTS.retryMaxDelayMs,
      opts.retryBaseDelayMs ?? 0,
    ),
    deliveryTimeoutMs:
      opts.deliveryTimeoutMs ??
      (opts.delivery === 'bullmq'
        ? BULLMQ_DELIVERY_TIMEOUT_MS
        : DELIVERY_DEFAULTS.deliveryTimeoutMs),
    requestTimeoutMs,
    shutdownTimeoutMs: opts.shutdownTimeoutMs ?? DELIVERY_DEFAULTS.shutdownTimeoutMs,
    breakerThreshold: opts.breakerThreshold ?? DELIVERY_DEFAULTS.breakerThreshold,
    breakerCooldownMs: opts.breakerCooldownMs ?? DELIVERY_DEFAULTS.breakerCooldownMs,
    warnIntervalMs: WARN_INTERVAL_MS,
  });
  const clickTracking: ClickTrackingSettings = Object.freeze({
    assignVisitorCookies: opts.assignVisitorCookies ?? true,
    ignoreBots: opts.ignoreBots ?? true,
    cookieNames: Object.freeze({ ...DEFAULT_COOKIE_NAMES, ...definedEntries(opts.cookieNames) }),
    ...(opts.cookieDomain ? { cookieDomain: opts.cookieDomain } : {}),
    cookieSecure: opts.cookieSecure ?? 'auto',
    ...(opts.resolveMarket ? { resolveMarket: opts.resolveMarket } : {}),
    ...(opts.resolveVisitor ? { resolveVisitor: opts.resolveVisitor } : {}),
    ...(opts.consent ? { consent: opts.consent } : {}),
  });
  const hooks: EsalesDeliveryHooks = Object.freeze({
    ...(opts.onDelivered ? { onDelivered: opts.onDelivered } : {}),
    ...(opts.onFailed ? { onFailed: opts.onFailed } : {}),
    ...(opts.onDropped ? { onDropped: opts.onDropped } : {}),
  });
  return {
    problems,
    resolved: new ResolvedEsalesOptions(
      enabled,
      opts.defaultMarket,
      requestTimeoutMs,
      topCluster ? targetFor(topCluster) : undefined,
      topPrivateKey,
      perMarket,
      delivery,
      hooks,
      clickTracking,
      opts.transport ?? DEFAULT_TRANSPORT,
      opts.delivery ?? DEFAULT_DELIVERY,
      opts.delivery === 'bullmq' ? bullmqSettings(opts.bullmq ?? {}) : undefined,
      Object.freeze({
        metrics: opts.metrics ?? DEFAULT_TELEMETRY.metrics,
        traceNotifications: opts.traceNotifications ?? DEFAULT_TELEMETRY.traceNotifications,
      }),
      opts.beacon == null ? undefined : beaconSettings(opts.beacon),
    ),
  };
}

/** @internal What the OpenTelemetry integration does. */
export interface TelemetrySettings {
  /** Record metrics through `@opentelemetry/api` (`nestjs-esales/opentelemetry`). */
  readonly metrics: boolean;
  /** Let the app's HTTP and undici instrumentation trace our POSTs to Elevate. */
  readonly traceNotifications: boolean;
}

const DEFAULT_TELEMETRY: TelemetrySettings = Object.freeze({
  metrics: false,
  traceNotifications: false,
});

/** The `bullmq` options with defaults applied, frozen. */
const bullmqSettings = (options: EsalesBullmqOptions): ResolvedBullmqSettings =>
  Object.freeze({
    redisUrl: options.redisUrl ?? undefined,
    connection: options.connection ?? undefined,
    queueName: options.queueName ?? BULLMQ_DEFAULTS.queueName,
    worker: options.worker ?? BULLMQ_DEFAULTS.worker,
    stalledIntervalMs: options.stalledIntervalMs ?? BULLMQ_DEFAULTS.stalledIntervalMs,
    lockDurationMs: options.lockDurationMs ?? BULLMQ_DEFAULTS.lockDurationMs,
  });

/**
 * The problems of `delivery` and `bullmq` together: `bullmq` against its schema, a Redis connection
 * required with `delivery: 'bullmq'`, and `bullmq` refused with any other backend. For options from
 * the environment, a `bullmq` option is labelled with its variable. No message shows a value: the
 * Redis URL may carry a password.
 */
function bullmqProblems(
  opts: EsalesModuleOptions,
  fromEnv: boolean,
  label: Label,
  problems: string[],
): void {
  // Plain `bullmq`, never `label('bullmq')`: no ESALES_BULLMQ variable exists to name.
  const field = (option: string): string => {
    const shown = `bullmq.${optionLabel(option)}`;
    const variable = fromEnv ? bullmqEnvNameForOption(option) : undefined;
    return variable === undefined ? shown : `${shown} (${variable})`;
  };
  const bullmq: unknown = opts.bullmq;
  const given = isPlainObject(bullmq) ? bullmq : undefined;
  if (given) {
    problems.push(...schemaProblemsOf(EsalesBullmqOptionsSchema, given, field));
  }
  // null counts as absent, as it does for every other optional option.
  if (opts.delivery === 'bullmq') {
    if (bullmq != null && !given) return; // not an object: the schema said so
    const hasUrl = given?.['redisUrl'] != null;
    const hasConnection = given?.['connection'] != null;
    if (hasUrl && hasConnection) {
      problems.push(`${field('redisUrl')} and ${field('connection')}: give one of them, not both`);
    } else if (!hasUrl && !hasConnection) {
      problems.push(
        `${field('redisUrl')} or ${field('connection')}: one of them is required with ` +
          `${label('delivery')} 'bullmq'`,
      );
    }
  } else if (bullmq != null && (opts.delivery == null || isDeliveryOption(opts.delivery))) {
    // A malformed `delivery` has its own problem; this one would only repeat it.
    const variables = fromEnv
      ? Object.keys(given ?? {}).flatMap((option) => bullmqEnvNameForOption(option) ?? [])
      : [];
    const shown = variables.length > 0 ? `bullmq (${variables.join(', ')})` : 'bullmq';
    problems.push(`${shown}: only applies to ${label('delivery')} 'bullmq'`);
  }
}

/** The `beacon` options with defaults applied, frozen. */
function beaconSettings(options: EsalesBeaconOptions): BeaconSettings {
  const rateLimit = options.rateLimit ?? BEACON_DEFAULTS.rateLimit;
  return Object.freeze({
    path: options.path,
    allowedOrigins: new Set(
      (options.allowedOrigins ?? []).flatMap((entry) => normaliseOrigin(entry) ?? []),
    ),
    maxBodyBytes: options.maxBodyBytes ?? BEACON_DEFAULTS.maxBodyBytes,
    rateLimit:
      rateLimit === false
        ? false
        : Object.freeze({ points: rateLimit.points, durationS: rateLimit.durationS }),
  });
}

/**
 * The problems of `beacon`: against its schema, `rateLimit` against its own. For options from the
 * environment, `beacon.path` is labelled with its variable (`ESALES_BEACON_PATH`).
 */
function beaconProblems(opts: EsalesModuleOptions, fromEnv: boolean, problems: string[]): void {
  // `beacon.path`, never `label('beacon')`: no ESALES_BEACON variable exists to name.
  const field = (option: string): string => {
    const shown = `beacon.${optionLabel(option)}`;
    const variable = fromEnv ? beaconEnvNameForOption(option) : undefined;
    return variable === undefined ? shown : `${shown} (${variable})`;
  };
  const beacon: unknown = opts.beacon;
  if (!isPlainObject(beacon)) return; // absent, or not an object: the schema said so
  problems.push(...schemaProblemsOf(EsalesBeaconOptionsSchema, beacon, field));
  const rateLimit = beacon['rateLimit'];
  if (isPlainObject(rateLimit)) {
    const rateField = (option: string): string => `beacon.rateLimit.${optionLabel(option)}`;
    problems.push(...schemaProblemsOf(EsalesBeaconRateLimitSchema, rateLimit, rateField));
  }
}

/** The entries whose value is not undefined: `{ token: undefined }` keeps the default name. */
const definedEntries = (value: object | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined));

// null counts as absent, as it does for every other optional option.
const hasClusterOption = (options: EsalesMarketOptions): boolean =>
  options.clusterUrl != null || options.clusterId != null;

/**
 * Validates `options` and applies defaults.
 * @throws EsalesConfigError listing every problem.
 */
export function resolveEsalesOptions(options: EsalesModuleOptions): ResolvedEsalesOptions {
  const { problems, resolved } = checkEsalesOptions(options);
  if (!resolved) throw new EsalesConfigError(problems);
  return resolved;
}
