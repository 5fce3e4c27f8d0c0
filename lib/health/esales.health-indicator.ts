import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EsalesNotificationService } from '../esales-notification.service.js';
import { NotificationPipeline } from '../notification-pipeline.js';

/** Share of `maxQueueSize` above which the indicator reports down. */
const QUEUE_DOWN_RATIO = 0.9;

/**
 * `@nestjs/terminus` health indicator for the notification queue: down while a cluster's circuit
 * breaker is open (Elevate keeps failing) or the queue (`queued + retrying`) is more than 90 % full
 * (notifications are about to be dropped); up otherwise. The details carry the counters, the
 * concurrency limit (the clusters' limits added up) and the slowest cluster's latency baseline, which
 * tell "Elevate is slow" (baseline up, limit steady) from "Elevate is overloaded" (limit down).
 * With `delivery: 'bullmq'` it also reports Redis (down while it is unreachable: notifications are
 * then delivered from memory) and the Redis queue's depth. Import it from `nestjs-esales/terminus`
 * and list it as a provider next to `TerminusModule`.
 *
 * Meant for monitoring and dashboards, not for liveness or readiness probes: the shop works without
 * Elevate, so an Elevate outage must not restart pods or take them out of rotation.
 *
 * @example
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.esales.isHealthy('esales')]);
 * }
 * ```
 */
@Injectable()
export class EsalesHealthIndicator {
  constructor(
    private readonly notifications: EsalesNotificationService,
    private readonly indicators: HealthIndicatorService,
    private readonly pipeline: NotificationPipeline,
  ) {}

  /**
   * The queue's health under `key`, with its counters (no secrets) as details. Asynchronous: with
   * BullMQ it asks Redis (for at most a second); terminus awaits it.
   */
  async isHealthy<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const stats = this.notifications.getStats();
    const backend = await this.pipeline.backendHealth();
    const { breaker, queued, retrying, maxQueueSize } = stats;
    const details = {
      breaker,
      queued,
      retrying,
      maxQueueSize,
      inFlight: stats.inFlight,
      concurrencyLimit: stats.concurrencyLimit,
      latencyBaselineMs: stats.latencyBaselineMs,
      dropped: stats.dropped,
      expired: stats.expired,
      failed: stats.failed,
      delivery: stats.backend.name,
      ...backend.details,
    };
    const session = this.indicators.check(key);
    if (breaker === 'open') {
      return session.down({ ...details, message: 'circuit breaker open: Elevate keeps failing' });
    }
    if (!backend.up) {
      return session.down({
        ...details,
        message: `the ${stats.backend.name} delivery backend is unreachable: delivering from memory`,
      });
    }
    if (queued + retrying > maxQueueSize * QUEUE_DOWN_RATIO) {
      return session.down({ ...details, message: 'notification queue more than 90% full' });
    }
    return session.up(details);
  }
}
