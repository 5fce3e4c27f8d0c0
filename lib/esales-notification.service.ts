import { describeError } from './common/app-code.js';
import { noteBuildLoaded } from './common/dual-package-guard.js';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ResolvedEsalesOptions } from './config/resolve-esales-options.js';
import { RateLimitedLog } from './common/rate-limited-log.js';
import {
  DeliveryEngine,
  worstBreakerState,
  type DeliveryTarget,
} from './delivery/delivery-engine.js';
import { DeliveryStats } from './delivery/delivery-stats.js';
import { DeliveryWarnings } from './delivery/delivery-warnings.js';
import type { EsalesSkipReason, EsalesStats } from './delivery/esales-stats.interface.js';
import { HookObserver } from './delivery/hook-observer.js';
import {
  ESALES_LOGGER_CONTEXT,
  ESALES_RESOLVED_OPTIONS,
  ESALES_TRANSPORT,
} from './esales.constants.js';
import { EsalesConfigError } from './errors/esales-config.error.js';
import type { EsalesDeliveryError } from './errors/esales.error.js';
import { EsalesUnknownMarketError } from './errors/esales-unknown-market.error.js';
import { EsalesValidationError } from './errors/esales-validation.error.js';
import {
  prepareNonEsalesClick,
  type NonEsalesClickNotification,
  type PreparedNotification,
} from './notifications/non-esales-click.notification.js';
import type { EsalesTransport } from './transport/esales-transport.interface.js';

// Every entry point that can hand out or inject this class loads this file: the place to notice
// a process that loaded both builds.
noteBuildLoaded();

/**
 * Sends notifications to Elevate for the markets configured in `EsalesModule`, through one bounded
 * queue, a concurrency limit and a circuit breaker per cluster, retries within each notification's
 * budget, and a graceful drain at shutdown.
 */
@Injectable()
export class EsalesNotificationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  private readonly engine: DeliveryEngine;
  private readonly stats = new DeliveryStats();
  private readonly warnings: RateLimitedLog;

  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    @Inject(ESALES_TRANSPORT) transport: EsalesTransport,
  ) {
    this.warnings = new RateLimitedLog(this.logger, options.delivery.warnIntervalMs);
    const observers = [
      this.stats,
      new HookObserver(options.hooks, this.warnings),
      new DeliveryWarnings(options.delivery, this.logger, this.warnings),
    ];
    this.engine = new DeliveryEngine(
      options.delivery,
      transport,
      this.logger,
      observers,
      undefined,
      options.clusterUrls,
    );
  }

  onModuleInit(): void {
    if (!this.options.enabled) {
      this.logger.log('Elevate notifications are disabled (enabled: false): nothing will be sent');
    }
  }

  /**
   * Runs after the HTTP server stopped taking requests: drains the queue for up to
   * `shutdownTimeoutMs`, abandons (counts and logs) the rest, then closes the connections.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.engine.shutdown();
    // Held-back warnings are reported now, not by a timer that outlives the app.
    this.warnings.flush();
  }

  /**
   * Sends a non-eSales click notification (the visitor clicked a product Elevate did not return) and
   * waits for the outcome. It goes through the same queue, retries and breaker as
   * `enqueueNonEsalesClick`; retryable failures are retried within `deliveryTimeoutMs`.
   *
   * Resolves once Elevate accepted it (2xx), or at once without I/O when the module is disabled.
   * @throws EsalesValidationError (before any I/O) when the notification is malformed.
   * @throws EsalesUnknownMarketError when `markets` is configured and does not list its market.
   * @throws EsalesBadRequestError or EsalesCustomerKeyRejectedError when Elevate refused it (never
   * retried); EsalesServerError, EsalesTimeoutError or EsalesNetworkError when the last of
   * `maxAttempts` attempts failed; EsalesUndeliveredError when the queue was full, the budget ran out
   * or the app shut down first.
   */
  async sendNonEsalesClick(notification: NonEsalesClickNotification): Promise<void> {
    const prepared = this.prepare(notification, true);
    if (!prepared) return;
    const target = this.targetOf(prepared);
    await new Promise<void>((resolve, reject: (error: EsalesDeliveryError) => void) => {
      this.engine.enqueue(prepared, target, { resolve, reject });
    });
  }

  /**
   * Queues a non-eSales click notification and returns at once: fire and forget. Never throws and
   * never waits on I/O. Invalid notifications and unknown markets are logged at debug and counted in
   * `getStats().skippedBy`; delivery failures are logged at warn (rate-limited) and counted.
   * Click tracking (`@TrackNonEsalesClick`) uses this path.
   */
  enqueueNonEsalesClick(notification: NonEsalesClickNotification): void {
    const prepared = this.prepareForQueue(notification);
    if (prepared) this.enqueuePrepared(prepared);
  }

  /**
   * @internal Click tracking's first half: validates and counts like `enqueueNonEsalesClick`, before
   * the route handler runs, so an invalid click leaves the response untouched. Never throws.
   */
  prepareForQueue(notification: NonEsalesClickNotification): PreparedNotification | undefined {
    try {
      return this.prepare(notification, false);
    } catch (error) {
      this.logger.error(`Could not prepare a notification: ${describeError(error)}`);
      return undefined;
    }
  }

  /** @internal Click tracking's second half: queues what `prepareForQueue` returned. Never throws. */
  enqueuePrepared(prepared: PreparedNotification): void {
    try {
      this.engine.enqueue(prepared, this.targetOf(prepared));
    } catch (error) {
      this.logger.error(`Could not queue a notification: ${describeError(error)}`);
    }
  }

  /**
   * Waits until every queued notification has an outcome, or `timeoutMs` passed (default
   * `shutdownTimeoutMs`). Resolves true when the queue is empty and nothing is in flight.
   * Idempotent: call it as often as you like.
   */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.engine.flush(timeoutMs);
  }

  /**
   * Counters since boot, the queue's current state and each cluster's concurrency limit and breaker;
   * see `EsalesStats` for the invariant.
   */
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
      ...this.stats.counts,
      skipped: this.stats.skippedTotal(),
      skippedBy: { ...this.stats.skips },
      queued,
      retrying,
      inFlight,
      maxQueueSize: this.options.delivery.maxQueueSize,
      breaker: worstBreakerState(perCluster.map((cluster) => cluster.breaker)),
      concurrencyLimit,
      latencyBaselineMs,
      clusters,
    };
  }

  /**
   * Counts a notification that was deliberately not sent (click tracking uses it for bots and
   * unverifiable signed-in visitors), so it shows in `getStats().skippedBy`.
   */
  recordSkip(reason: EsalesSkipReason): void {
    this.engine.skip(reason);
  }

  /**
   * Validates; returns undefined when there is nothing to send (disabled, or a skip when `strict` is
   * false). With `strict`, problems throw.
   */
  private prepare(
    notification: NonEsalesClickNotification,
    strict: boolean,
  ): PreparedNotification | undefined {
    const prepared = prepareNonEsalesClick(notification, this.options.defaultMarket);
    if (Array.isArray(prepared)) {
      this.engine.skip('invalid');
      const error = new EsalesValidationError('non-eSales click notification', prepared, {
        ...marketOf(notification),
      });
      if (strict) throw error;
      this.logger.debug(`Skipped a notification: ${error.message}`);
      return undefined;
    }
    if (!this.options.isAllowedMarket(prepared.market)) {
      this.engine.skip('unknownMarket');
      const error = new EsalesUnknownMarketError(prepared.market, this.options.markets ?? [], {
        notificationId: prepared.id,
      });
      if (strict) throw error;
      // A configuration problem rather than bad input: worth a (rate-limited) warning.
      this.warnings.warn('unknown-market', () => `Skipped a notification: ${error.message}`);
      return undefined;
    }
    if (!this.options.enabled) {
      this.engine.skip('disabled');
      return undefined;
    }
    return prepared;
  }

  private targetOf(prepared: PreparedNotification): DeliveryTarget {
    const target = this.options.target(prepared.market);
    // Unreachable: resolution at boot guarantees a target for every allowed market while enabled.
    if (!target) {
      throw new EsalesConfigError([`no cluster is configured for market "${prepared.market}"`]);
    }
    return { clusterUrl: target.clusterUrl, endpoint: target.nonEsalesClickUrl };
  }
}

const marketOf = (notification: unknown): { market?: string } => {
  const market = (notification as { market?: unknown } | null)?.market;
  return typeof market === 'string' ? { market } : {};
};
