import type {
  EsalesClickTrackingOptions,
  EsalesHttpRequest,
} from '../click-tracking/click-tracking-options.interface.js';
import type { EsalesBeaconOptions } from '../beacon/beacon-options.interface.js';
import type {
  EsalesDeliveryBackend,
  EsalesDeliveryName,
} from '../delivery/esales-delivery-backend.interface.js';
import type { EsalesDeliveryHooks } from '../delivery/esales-delivery-hooks.interface.js';
import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import type { EsalesTransportName } from '../transport/transport-names.js';

export type { EsalesTransportName } from '../transport/transport-names.js';
export type { EsalesDeliveryName } from '../delivery/esales-delivery-backend.interface.js';
export type {
  EsalesBeaconOptions,
  EsalesBeaconRateLimit,
} from '../beacon/beacon-options.interface.js';

/** Per-market overrides of the cluster and private key; anything left out falls back to the top level. */
export interface EsalesMarketOptions {
  /**
   * Base URL of the Elevate cluster for this market, e.g. `https://w1234ABCD.api.esales.apptus.cloud`.
   * Give this or `clusterId`, not both.
   * @default the top-level `clusterUrl` / `clusterId`
   */
  clusterUrl?: string;
  /**
   * Cluster id for this market (`[A-Za-z0-9-]+`, case sensitive); becomes
   * `https://{clusterId}.api.esales.apptus.cloud`.
   * @default the top-level `clusterUrl` / `clusterId`
   */
  clusterId?: string;
  /**
   * Private key of this market's cluster, used for signed-in customer-key tokens.
   * @default the top-level `privateKey`
   */
  privateKey?: string;
}

/**
 * Options of the BullMQ delivery backend (`delivery: 'bullmq'`); a config error with any other
 * `delivery`.
 */
export interface EsalesBullmqOptions {
  /**
   * `redis://` or `rediss://` URL of the Redis server, e.g. `redis://127.0.0.1:6379/0`. It may carry
   * a password: never logged, and configuration errors never show it. Give this or `connection`.
   * @default undefined
   */
  redisUrl?: string;
  /**
   * An existing ioredis instance, or ioredis connection options (typed as `object` so that the main
   * entry point never references ioredis types). Give this or `redisUrl`.
   * @default undefined
   */
  connection?: object;
  /**
   * Name of the BullMQ queue; payments use `${queueName}-payments`. 1 to 64 letters, digits, `_`
   * and `-` (BullMQ forbids `:`). Instances that share it share the notifications.
   * @default 'nestjs-esales'
   */
  queueName?: string;
  /**
   * Whether this instance also delivers (runs the BullMQ workers). With false it only enqueues, and
   * other instances deliver.
   * @default true
   */
  worker?: boolean;
  /**
   * BullMQ's stall check interval, in milliseconds (100 to 600000): how often a worker looks for
   * jobs whose lock expired (their instance crashed) and hands them on.
   * @default 30000
   */
  stalledIntervalMs?: number;
  /**
   * BullMQ's job lock duration, in milliseconds (100 to 600000): how long a job stays with its
   * worker without the lock being renewed.
   * @default 30000
   */
  lockDurationMs?: number;
}

/**
 * Options of `EsalesModule.forRoot()` / `forRootAsync()`; the click-tracking ones are described in
 * `EsalesClickTrackingOptions`.
 */
export interface EsalesModuleOptions extends EsalesMarketOptions, EsalesClickTrackingOptions {
  /**
   * Base URL of the Elevate cluster (Web API v1 enabled), e.g.
   * `https://w1234ABCD.api.esales.apptus.cloud`. Give this or `clusterId`; one of them is required while
   * `enabled` is true, unless every market sets its own.
   * @default undefined
   */
  clusterUrl?: string;
  /**
   * Cluster id handed out by Voyado (`[A-Za-z0-9-]+`, case sensitive); becomes
   * `https://{clusterId}.api.esales.apptus.cloud`. Alternative to `clusterUrl`.
   * @default undefined
   */
  clusterId?: string;
  /**
   * Private key of the cluster, needed only to issue or verify signed-in customer keys. Never logged.
   * @default undefined
   */
  privateKey?: string;
  /** Market used when a notification names none, e.g. `UK` or `Sweden`. Required. */
  defaultMarket: string;
  /**
   * Per-market overrides. When given, it is also the list of allowed markets: a notification for a
   * market outside it is rejected. When absent, every market is allowed and uses the top-level values.
   * @default undefined
   */
  markets?: Record<string, EsalesMarketOptions>;
  /**
   * How long one HTTP request to Elevate may take, in milliseconds, before it fails with
   * `EsalesTimeoutError`.
   * @default 2000
   */
  requestTimeoutMs?: number;
  /**
   * The HTTP client that carries notifications to Elevate.
   *
   * - `'undici'`: undici on a keep-alive pool of the module's own; the cheapest in client CPU per
   *   notification.
   * - `'axios'`: `@nestjs/axios`'s `HttpService` on the module's own axios instance, loaded from
   *   `nestjs-esales/axios` when the app starts (`@nestjs/axios` and `axios` are optional peers:
   *   install them for this). It costs several times the client CPU per notification
   *   (BENCHMARKS.md).
   * - an `EsalesTransport` object: your own, or `new AxiosEsalesTransport(httpService)` (from
   *   `nestjs-esales/axios`) with the
   *   `HttpService` of your own `HttpModule` registration, for apps that rely on its proxy settings
   *   or interceptors (use `forRootAsync` and inject it). The service calls its `close()` once,
   *   after the shutdown drain.
   *
   * The built-in ones send the same bytes, with the same `requestTimeoutMs` deadline, retries and
   * errors.
   * @default 'undici'
   */
  transport?: EsalesTransportName | EsalesTransport;
  /**
   * Where queued notifications wait until they are delivered.
   *
   * - `'memory'`: the bounded in-process engine; what is queued when the process dies is lost.
   * - `'bullmq'`: Redis, through BullMQ, set up by the `bullmq` option. Loaded from
   *   `nestjs-esales/bullmq` when the app starts (`bullmq` and `ioredis` are optional peers:
   *   install them for this). Notifications outlive a crash or a restart, and the instances that
   *   share the queue share the delivery. `deliveryTimeoutMs` defaults to 10 minutes with it.
   * - an `EsalesDeliveryBackend` object (experimental): your own, anything with `start`, `enqueue`,
   *   `flush`, `stats`, `health` and `close` methods.
   * @default 'memory'
   */
  delivery?: EsalesDeliveryName | EsalesDeliveryBackend;
  /**
   * The BullMQ backend's Redis connection, queue and worker: required with `delivery: 'bullmq'`
   * (`redisUrl` or `connection`), a config error with any other `delivery`.
   * @default undefined
   */
  bullmq?: EsalesBullmqOptions;
  /**
   * When false, nothing is sent: notifications are still validated, then resolve without I/O, and one
   * line is logged at boot. Useful for local development and tests.
   * @default true
   */
  enabled?: boolean;
  /**
   * Allow `http://` cluster URLs. Elevate itself is https only; set this for a local stand-in (on
   * loopback, or another host such as a docker-compose service). Link-local and cloud metadata
   * addresses (169.254.0.0/16, fe80::/10, 169.254.x.y inside IPv6, 100.100.100.200, fd00:ec2::254,
   * `metadata.google.internal`) stay refused, http or https. The http URLs on a host other than
   * loopback are listed in `ResolvedEsalesOptions.insecureNonLoopbackClusterUrls`.
   * @default false
   */
  allowInsecureClusterUrl?: boolean;
  /**
   * Record OpenTelemetry metrics: every notification's outcome, skips, attempt and delivery
   * durations, and gauges of the queue, the breaker and the concurrency limit (README "Metrics").
   * Loads `nestjs-esales/opentelemetry` at boot, which needs the optional peer `@opentelemetry/api`
   * (boot fails with an `EsalesConfigError` without it); the app registers the SDK and exporter.
   * Off by default: an app without an OpenTelemetry SDK would pay for nothing.
   * @default false
   */
  metrics?: boolean;
  /**
   * Let the app's OpenTelemetry HTTP and undici instrumentation trace the package's own POSTs to
   * Elevate (a span per attempt, and `traceparent` on the request). By default they run with tracing
   * suppressed: no span per notification, no trace headers sent to Elevate. Mind that such spans
   * carry the request URL, and a payment's URL its `paymentToken` (a secret): strip `url.query` in
   * the instrumentation's hooks, or keep this off.
   * @default false
   */
  traceNotifications?: boolean;
  /**
   * `Secure` attribute of the cookies the package sets.
   *
   * - `'auto'`: `Secure` when the request is https as the platform reports it (`request.protocol`:
   *   mind `trust proxy` behind a TLS-terminating proxy).
   * - `true`: always `Secure`.
   * - `false`: never `Secure`.
   * @default 'auto'
   */
  cookieSecure?: 'auto' | boolean;
  /**
   * Whether the visitor consented to tracking. Called for each tracked request; when it returns
   * false, no cookie is assigned and nothing is sent for that request (counted in
   * `getStats().skippedBy.noConsent`). Must be synchronous.
   * @default undefined (every request counts as consented)
   */
  consent?: (request: EsalesHttpRequest) => boolean;
  /**
   * Serve the beacon endpoint at `beacon.path`: `navigator.sendBeacon` / `fetch` posts of clicks and
   * cart additions from the shop's own pages, queued for the visitor of the request's Apptus cookies
   * (README "Beacon endpoint"). `ESALES_BEACON_PATH` sets the path.
   * @default undefined (no endpoint)
   */
  beacon?: EsalesBeaconOptions;
  /**
   * Most notifications waiting for delivery. When the queue is full a new notification is dropped
   * (counted in `getStats().dropped`, warned about at most every 10 s) rather than queued.
   * @default 10000
   */
  maxQueueSize?: number;
  /**
   * How many HTTP attempts may be in flight to one cluster at once. Markets that share a cluster URL
   * share the limit; a notification waiting to retry holds no slot.
   *
   * - `'adaptive'`: the limit follows what the cluster sustains, between `minConcurrency` and
   *   `maxConcurrency`. It grows while latency stays near the cluster's no-load baseline (a long
   *   round trip is not overload) and shrinks when latency climbs above it, and on 5xx, 429 and
   *   timeouts. See the README's "Delivery capacity".
   * - a number: exactly that many, whatever the cluster does (the behaviour before `'adaptive'`).
   * @default 'adaptive'
   */
  concurrency?: number | 'adaptive';
  /**
   * Floor of the adaptive limit, per cluster; the limit starts at twice this. Only with
   * `concurrency: 'adaptive'` (a config error with a number).
   * @default 16, or `maxConcurrency` when that is lower
   */
  minConcurrency?: number;
  /**
   * Ceiling of the adaptive limit, per cluster, and the size of the built-in transports' connection
   * pools. Keeping up needs `arrival rate × latency` in flight (500/s at 250 ms: 125). N instances
   * of the app multiply it against one cluster. Only with `concurrency: 'adaptive'`.
   * @default 256
   */
  maxConcurrency?: number;
  /**
   * Most HTTP attempts per notification, the first included. 1 turns retries off. The default is
   * high enough that `deliveryTimeoutMs`, not the count, normally ends a failing notification.
   * @default 20
   */
  maxAttempts?: number;
  /**
   * Scale of the exponential backoff between attempts, in milliseconds (decorrelated jitter).
   * @default 200
   */
  retryBaseDelayMs?: number;
  /**
   * Longest wait between two attempts, in milliseconds; also caps what `Retry-After` can ask for
   * (the hold a 429 or 503 `Retry-After` puts on the whole cluster is capped at the larger of this
   * and `breakerCooldownMs`). Short by default, so that about 14 attempts fit into the default budget: at a 50 % failure rate
   * one notification in ~16 000 runs out of it. The concurrency limit and the breaker, not long
   * sleeps, keep a failing cluster's load down.
   * @default 1000
   */
  retryMaxDelayMs?: number;
  /**
   * Total time a notification may take, in milliseconds, from being queued to its last attempt
   * (queueing, waiting on the circuit breaker and retries included). An attempt only starts with at
   * least `requestTimeoutMs` of it left (half of it, if that is shorter); otherwise the notification
   * counts as expired.
   *
   * With `delivery: 'bullmq'` the default is 600000 (10 minutes), so that a notification survives a
   * crash of its instance and BullMQ's stall check handing it to another; a value given here wins.
   * @default 15000, or 600000 with `delivery: 'bullmq'`
   */
  deliveryTimeoutMs?: number;
  /**
   * At shutdown, how long to keep delivering what is queued, in milliseconds, before abandoning
   * the rest (counted and logged once). Also the default timeout of `flush()`.
   * @default 5000
   */
  shutdownTimeoutMs?: number;
  /**
   * Consecutive failed attempts (5xx, timeouts, network errors) that open the circuit breaker shared
   * by the whole queue. While open, queued notifications wait instead of each retrying.
   * @default 5
   */
  breakerThreshold?: number;
  /**
   * How long the breaker stays open before one probe request may close it, in milliseconds.
   * @default 5000
   */
  breakerCooldownMs?: number;
  /** Called when Elevate accepted a notification. Runs inside try/catch; keep it cheap. */
  onDelivered?: EsalesDeliveryHooks['onDelivered'];
  /**
   * Called when a notification was refused (4xx), failed after its attempts, or expired. Runs inside
   * try/catch; keep it cheap.
   */
  onFailed?: EsalesDeliveryHooks['onFailed'];
  /** Called when a notification was dropped: queue full, or the app shut down first. */
  onDropped?: EsalesDeliveryHooks['onDropped'];
}

/** Implemented by a class passed to `forRootAsync({ useClass })` / `useExisting`. */
export interface EsalesOptionsFactory {
  /** Returns the module options, possibly asynchronously. */
  createEsalesOptions(): EsalesModuleOptions | Promise<EsalesModuleOptions>;
}
