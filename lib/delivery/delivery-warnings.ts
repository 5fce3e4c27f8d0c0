import type { Logger } from '@nestjs/common';
import type { RateLimitedLog } from '../common/rate-limited-log.js';
import { maskCustomerKey } from '../common/redact.js';
import type { DeliveryObserver, SettledNotification } from './delivery-observer.js';
import type { DeliverySettings } from './delivery-settings.interface.js';
import type { EsalesBreakerState } from './esales-stats.interface.js';

const OUTCOME_WORDS = { rejected: 'Rejected', failed: 'Failed', expired: 'Expired' } as const;

/** @internal The log lines about delivery: rate-limited warnings, and the breaker closing again. */
export class DeliveryWarnings implements DeliveryObserver {
  private droppedQueueFull = 0;

  constructor(
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
    private readonly warnings: RateLimitedLog,
  ) {}

  settled({ notification, outcome, attempts, dropReason, error }: SettledNotification): void {
    if (outcome === 'sent') return;
    if (outcome === 'dropped') {
      if (dropReason !== 'queue-full') return;
      this.droppedQueueFull++;
      this.warnings.warn(
        'queue-full',
        () =>
          `Delivery queue is full (maxQueueSize ${this.settings.maxQueueSize}): ` +
          `${this.droppedQueueFull} notification(s) dropped so far`,
      );
      return;
    }
    if (!error) return;
    const kind = `${outcome}:${error.status ?? (error as { code?: string }).code ?? error.name}`;
    this.warnings.warn(
      kind,
      () =>
        `${OUTCOME_WORDS[outcome]}: ${error.message} ` +
        `(customer ${maskCustomerKey(notification.customerKey)}, ` +
        `${attempts} attempt${attempts === 1 ? '' : 's'})`,
    );
  }

  breakerChanged(cluster: string, state: EsalesBreakerState): void {
    const { breakerThreshold, breakerCooldownMs } = this.settings;
    if (state === 'open') {
      this.warnings.warn(
        `breaker-open:${cluster}`,
        () =>
          `Circuit breaker open after ${breakerThreshold} consecutive failed attempts to ` +
          `${cluster}: its notifications wait; one probe every ${breakerCooldownMs} ms`,
      );
    } else if (state === 'closed') {
      this.logger.log(`Circuit breaker closed: ${cluster} answered the probe, delivery resumes`);
    }
  }

  abandoned(queued: number, inFlight: number): void {
    this.logger.warn(
      `Shutdown: ${queued + inFlight} notification(s) not delivered within ` +
        `shutdownTimeoutMs (${this.settings.shutdownTimeoutMs} ms) were abandoned ` +
        `(${queued} queued, ${inFlight} in flight)`,
    );
  }
}
