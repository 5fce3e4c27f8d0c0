import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CookieSecurity } from './click-tracking/visitor-cookies.js';
import { describeError } from './common/app-code.js';
import { RateLimitedLog } from './common/rate-limited-log.js';
import type { ResolvedEsalesOptions } from './config/resolve-esales-options.js';
import { DedupeWindow } from './delivery/dedupe-window.js';
import {
  DeliveryEngine,
  worstBreakerState,
  type Completion,
  type DeliveryTarget,
} from './delivery/delivery-engine.js';
import type { DeliveryObserver, SettledNotification } from './delivery/delivery-observer.js';
import { DeliveryStats } from './delivery/delivery-stats.js';
import { DeliveryWarnings } from './delivery/delivery-warnings.js';
import type { EsalesSkipReason, EsalesStats } from './delivery/esales-stats.interface.js';
import { HookObserver } from './delivery/hook-observer.js';
import type {
  EsalesDeliveryBackend,
  EsalesDeliveryBackendStats,
  EsalesDeliveryContext,
} from './delivery/esales-delivery-backend.interface.js';
import {
  ESALES_DELIVERY_BACKEND,
  ESALES_LOGGER_CONTEXT,
  ESALES_RESOLVED_OPTIONS,
  ESALES_TELEMETRY,
  ESALES_TRANSPORT,
} from './esales.constants.js';
import type { TelemetryHooks } from './delivery/telemetry.interface.js';
import { EsalesConfigError } from './errors/esales-config.error.js';
import type { EsalesDeliveryError } from './errors/esales.error.js';
import { EsalesUnknownMarketError } from './errors/esales-unknown-market.error.js';
import { EsalesValidationError } from './errors/esales-validation.error.js';
import { NOTIFICATION_KINDS } from './notifications/index.js';
import { MAX_KEY_LENGTH, isPlainString } from './notifications/notification-fields.js';
import type {
  EsalesNotificationKindName,
  NotificationKind,
  PreparedNotification,
} from './notifications/notification-kind.js';
import { prepareNotification } from './notifications/prepare-notification.js';
import type { EsalesTransport } from './transport/esales-transport.interface.js';

/** How long a payment's `dedupeKey` is remembered: a day (a confirmation page reloaded tomorrow). */
export const DEDUPE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How many `dedupeKey`s are remembered at most (the oldest go first): about 1 MB. */
export const MAX_DEDUPE_KEYS = 10_000;

/** Options of `sendPayment` / `enqueuePayment`. */
export interface EsalesPaymentOptions {
  /**
   * The app's key for this purchase, such as the order id: a payment whose `dedupeKey` (in the same
   * market) was sent, or is on its way, within the last 24 hours (and the last 10 000 keys) is
   * skipped and counted as `skippedBy.duplicate`, so a double-submitted checkout counts once. A
   * payment that ends undelivered releases its key. Never sent to Elevate.
   */
  dedupeKey?: string;
}

/**
 * @internal The one path every notification takes — validation, market and enabled checks, payment
 * dedupe, the delivery engine, its observers — shared by `EsalesNotificationService` and the tracking
 * interceptor. The module provides it; `lib/index.ts` does not export it.
 */
@Injectable()
export class NotificationPipeline implements OnModuleInit, OnApplicationShutdown {
  readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  /** Rate-limited warnings, shared by everything that reports on delivery. */
  readonly warnings: RateLimitedLog;
  /** The `Secure` decision for every cookie the package sets (one instance: it warns once). */
  readonly cookieSecurity: CookieSecurity;
  private readonly engine: DeliveryEngine;
  private readonly observers: readonly DeliveryObserver[];
  private readonly releaseUndelivered: DeliveryObserver;
  private readonly stats = new DeliveryStats();
  private readonly dedupe = new DedupeWindow(DEDUPE_WINDOW_MS, MAX_DEDUPE_KEYS, () => Date.now());
  private readonly context: Parameters<typeof prepareNotification>[2];

  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) readonly options: ResolvedEsalesOptions,
    @Inject(ESALES_TRANSPORT) transport: EsalesTransport,
    @Inject(ESALES_DELIVERY_BACKEND) private readonly backend: EsalesDeliveryBackend | null,
    @Inject(ESALES_TELEMETRY) private readonly telemetry: TelemetryHooks | null,
  ) {
    this.warnings = new RateLimitedLog(this.logger, options.delivery.warnIntervalMs);
    this.cookieSecurity = new CookieSecurity(options.clickTracking.cookieSecure, (message) =>
      this.logger.warn(message),
    );
    const dedupe = this.dedupe;
    // A payment's key is given back only when Elevate surely did not count it: refused with a 4xx,
    // or every attempt failed before it could arrive (or none was made).
    const releaseUndelivered: DeliveryObserver = (this.releaseUndelivered = {
      settled({ notification, outcome, mayHaveArrived }: SettledNotification): void {
        if (notification.dedupeKey === undefined) return;
        if (outcome === 'rejected' || (outcome !== 'sent' && !mayHaveArrived)) {
          dedupe.release(notification.dedupeKey);
        }
      },
    });
    const observers = (this.observers = [
      this.stats,
      new HookObserver(options.hooks, this.warnings),
      new DeliveryWarnings(options.delivery, this.logger, this.warnings),
      releaseUndelivered,
      ...(telemetry?.observer ? [telemetry.observer] : []),
    ]);
    this.engine = new DeliveryEngine(
      options.delivery,
      telemetry ? telemetry.wrapTransport(transport) : transport,
      this.logger,
      observers,
      undefined,
      options.clusterUrls,
    );
    this.context = {
      defaultMarket: options.defaultMarket,
      privateKey: (market) => options.privateKey(market),
    };
  }

  async onModuleInit(): Promise<void> {
    // Nothing in start() waits for the backend's server: the app boots while Redis is away.
    if (this.backend && this.options.enabled) await this.backend.start(this.backendContext());
    this.telemetry?.observe({
      stats: () => this.getStats(),
      redisQueueSize: async () => {
        if (!this.backend) return undefined;
        const waiting = (await this.backend.health()).details['waiting'];
        return typeof waiting === 'number' ? waiting : undefined;
      },
    });
    if (!this.options.enabled) {
      this.logger.log('Elevate notifications are disabled (enabled: false): nothing will be sent');
    }
    const insecure = this.options.insecureNonLoopbackClusterUrls;
    if (this.options.enabled && insecure.length > 0) {
      // Allowed (a stand-in in docker-compose is not on loopback), but never by accident.
      this.logger.warn(
        `allowInsecureClusterUrl: notifications, tokens included, go over plain http to ` +
          `${insecure.join(', ')}, which is not a loopback address`,
      );
    }
  }

  /**
   * Runs after the HTTP server stopped taking requests: drains the queue for up to
   * `shutdownTimeoutMs`, abandons (counts and logs) the rest, then closes the connections.
   */
  async onApplicationShutdown(): Promise<void> {
    const { shutdownTimeoutMs } = this.options.delivery;
    const started = Date.now();
    // The backend first: what it cannot hand over in time falls back to the engine, which drains.
    if (this.backend && this.options.enabled) {
      // Jobs a backend's workers only wait with in the engine's lanes go back to their queue now,
      // instead of being held until the workers are forced closed.
      this.engine.releaseWaitingSingles();
      try {
        await this.backend.close(shutdownTimeoutMs);
      } catch (error) {
        this.logger.warn(
          `Could not close the ${this.backend.name} delivery: ${describeError(error)}`,
        );
      }
    }
    // One shutdownTimeoutMs in all: the engine drains for what the backend's close left of it.
    await this.engine.shutdown(Math.max(0, shutdownTimeoutMs - (Date.now() - started)));
    this.telemetry?.close();
    // Held-back warnings are reported now, not by a timer that outlives the app.
    this.warnings.flush();
  }

  /** Validates, sends and waits for the outcome; see `EsalesNotificationService`. */
  async send(
    kind: NotificationKind,
    notification: unknown,
    options?: EsalesPaymentOptions,
  ): Promise<void> {
    const prepared = this.prepare(kind, notification, true, options);
    if (!prepared) return;
    const target = this.targetOf(prepared);
    await new Promise<void>((resolve, reject: (error: EsalesDeliveryError) => void) => {
      if (this.backend) this.backend.enqueue(prepared, target, { resolve, reject });
      else this.engine.enqueue(prepared, target, { resolve, reject });
    });
  }

  /** Validates and queues; never throws, never waits. True when it was queued. */
  enqueue(kind: NotificationKind, notification: unknown, options?: EsalesPaymentOptions): boolean {
    let prepared: PreparedNotification | undefined;
    try {
      prepared = this.prepare(kind, notification, false, options);
    } catch (error) {
      this.logger.error(`Could not prepare a notification: ${describeError(error)}`);
    }
    return prepared ? this.enqueuePrepared(prepared) : false;
  }

  /** Queues what `prepare` returned. Never throws. True when it was queued. */
  enqueuePrepared(prepared: PreparedNotification, completion?: Completion): boolean {
    try {
      const target = this.targetOf(prepared);
      return this.backend
        ? this.backend.enqueue(prepared, target, completion)
        : this.engine.enqueue(prepared, target, completion);
    } catch (error) {
      this.logger.error(`Could not queue a notification: ${describeError(error)}`);
      return false;
    }
  }

  /**
   * Validates and counts; returns undefined when there is nothing to send (disabled, a duplicate
   * payment, or — when `strict` is false — bad input or an unknown market, logged and counted). With
   * `strict`, problems throw.
   */
  prepare(
    kind: NotificationKind,
    notification: unknown,
    strict: boolean,
    options?: EsalesPaymentOptions,
  ): PreparedNotification | undefined {
    const prepared = prepareNotification(kind, notification, this.context);
    const dedupeKey = options?.dedupeKey;
    if (
      Array.isArray(prepared) ||
      (dedupeKey !== undefined && !isPlainString(dedupeKey, MAX_KEY_LENGTH))
    ) {
      this.skip('invalid', kind.name);
      const problems = Array.isArray(prepared)
        ? prepared
        : [
            {
              field: 'dedupeKey',
              messages: [
                `dedupeKey must be a non-empty string of at most ${MAX_KEY_LENGTH} characters without control characters`,
              ],
            },
          ];
      const error = new EsalesValidationError(kind.subject, problems, marketOf(notification));
      if (strict) throw error;
      this.logger.debug(`Skipped a notification: ${error.message}`);
      return undefined;
    }
    if (!this.options.isAllowedMarket(prepared.market)) {
      this.skip('unknownMarket', kind.name);
      const error = new EsalesUnknownMarketError(prepared.market, this.options.markets ?? [], {
        notificationId: prepared.id,
        kind: kind.name,
      });
      if (strict) throw error;
      // A configuration problem rather than bad input: worth a (rate-limited) warning.
      this.warnings.warn('unknown-market', () => `Skipped a notification: ${error.message}`);
      return undefined;
    }
    if (!this.options.enabled) {
      this.skip('disabled', kind.name);
      return undefined;
    }
    if (dedupeKey === undefined) return prepared;
    const key = `${prepared.market}\u0000${dedupeKey}`;
    if (!this.dedupe.claim(key)) {
      this.skip('duplicate', kind.name);
      this.logger.debug(
        `Skipped a ${kind.subject}: its dedupeKey was sent or queued within the dedupe window`,
      );
      return undefined;
    }
    return { ...prepared, dedupeKey: key };
  }

  /** Counts a notification that was deliberately not sent. */
  skip(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void {
    this.engine.skip(reason, kind);
  }

  /**
   * Waits until nothing is queued, retrying or in flight in this process (with a backend: until
   * what it buffers is handed over too), or `timeoutMs` passed.
   */
  async flush(timeoutMs: number = this.options.delivery.shutdownTimeoutMs): Promise<boolean> {
    if (!this.backend) return this.engine.flush(timeoutMs);
    const started = Date.now();
    const handedOver = await this.backend.flush(timeoutMs);
    const idle = await this.engine.flush(Math.max(0, timeoutMs - (Date.now() - started)));
    return handedOver && idle;
  }

  /** What the delivery backend reports to the health indicator (the memory engine: always up). */
  backendHealth(): Promise<{ up: boolean; details: Readonly<Record<string, unknown>> }> {
    return this.backend && this.options.enabled
      ? this.backend.health()
      : Promise.resolve({ up: true, details: {} });
  }

  private backendContext(): EsalesDeliveryContext {
    const { engine, observers, releaseUndelivered } = this;
    return {
      settings: this.options.delivery,
      deliverInMemory: (notification, target, completion, counted) =>
        engine.enqueue(notification, target, completion, counted),
      enqueued: (notification) => {
        for (const observer of observers) observer.enqueued?.(notification);
      },
      attemptOnce: (notification, target, budgetMs, attemptsBefore) =>
        engine.attemptOnce(notification, target, budgetMs, attemptsBefore),
      settled: (settled) => {
        for (const observer of observers) observer.settled?.(settled);
      },
      learnt: (settled) => releaseUndelivered.settled?.(settled),
    };
  }

  /** See `EsalesNotificationService.getStats`. */
  getStats(): EsalesStats {
    const { queued, retrying, inFlight, clusters } = this.engine.state();
    const perCluster = Object.values(clusters);
    let concurrencyLimit = 0;
    let latencyBaselineMs: number | null = null;
    for (const cluster of perCluster) {
      concurrencyLimit += cluster.concurrencyLimit;
      const baseline = cluster.latencyBaselineMs;
      if (baseline !== null && (latencyBaselineMs === null || baseline > latencyBaselineMs)) {
        latencyBaselineMs = baseline;
      }
    }
    return {
      ...this.stats.totals(),
      byKind: this.stats.byKind(),
      queued,
      retrying,
      inFlight,
      maxQueueSize: this.options.delivery.maxQueueSize,
      breaker: worstBreakerState(perCluster.map((cluster) => cluster.breaker)),
      concurrencyLimit,
      latencyBaselineMs,
      clusters,
      backend: this.backend && this.options.enabled ? this.backend.stats() : MEMORY_BACKEND_STATS,
    };
  }

  private targetOf(prepared: PreparedNotification): DeliveryTarget {
    const target = this.options.target(prepared.market);
    // Unreachable: resolution at boot guarantees a target for every allowed market while enabled.
    if (!target) {
      throw new EsalesConfigError([`no cluster is configured for market "${prepared.market}"`]);
    }
    const endpoint = target.clusterUrl + NOTIFICATION_KINDS[prepared.kind].path;
    return { clusterUrl: target.clusterUrl, endpoint };
  }
}

const MEMORY_BACKEND_STATS: EsalesDeliveryBackendStats = Object.freeze({ name: 'memory' });

const marketOf = (notification: unknown): { market?: string } => {
  const market = (notification as { market?: unknown } | null)?.market;
  return typeof market === 'string' ? { market } : {};
};
