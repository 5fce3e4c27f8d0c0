import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { ResolvedEsalesOptions } from './config/resolve-esales-options.js';
import { DeliveryEngine } from './delivery/delivery-engine.js';
import type { EsalesSkipReason, EsalesStats } from './delivery/esales-stats.interface.js';
import { RateLimitedLog } from './delivery/rate-limited-log.js';
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

/**
 * Sends notifications to Elevate for the markets configured in `EsalesModule`, through one bounded
 * queue with retries, a shared circuit breaker and a graceful drain at shutdown.
 */
@Injectable()
export class EsalesNotificationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  private readonly engine: DeliveryEngine;
  private readonly warnings: RateLimitedLog;

  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    @Inject(ESALES_TRANSPORT) transport: EsalesTransport,
  ) {
    this.engine = new DeliveryEngine(options.delivery, transport, this.logger, options.hooks);
    this.warnings = new RateLimitedLog(this.logger, options.delivery.warnIntervalMs);
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
    const endpoint = this.endpointFor(prepared);
    await new Promise<void>((resolve, reject: (error: EsalesDeliveryError) => void) => {
      this.engine.enqueue(prepared, endpoint, { resolve, reject });
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
      this.logger.error(`Could not prepare a notification: ${String(error)}`);
      return undefined;
    }
  }

  /** @internal Click tracking's second half: queues what `prepareForQueue` returned. Never throws. */
  enqueuePrepared(prepared: PreparedNotification): void {
    try {
      this.engine.enqueue(prepared, this.endpointFor(prepared));
    } catch (error) {
      this.logger.error(`Could not queue a notification: ${String(error)}`);
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

  /** Counters since boot and the queue's current state; see `EsalesStats` for the invariant. */
  getStats(): EsalesStats {
    return this.engine.stats();
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

  private endpointFor(prepared: PreparedNotification): string {
    const target = this.options.target(prepared.market);
    // Unreachable: resolution at boot guarantees a target for every allowed market while enabled.
    if (!target) {
      throw new EsalesConfigError([`no cluster is configured for market "${prepared.market}"`]);
    }
    return target.nonEsalesClickUrl;
  }
}

const marketOf = (notification: unknown): { market?: string } => {
  const market = (notification as { market?: unknown } | null)?.market;
  return typeof market === 'string' ? { market } : {};
};
