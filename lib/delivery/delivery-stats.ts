import type { DeliveryObserver, SettledNotification } from './delivery-observer.js';
import type { EsalesSkipReason } from './esales-stats.interface.js';

/** @internal The counters behind `getStats()`: an observer like any other. */
export class DeliveryStats implements DeliveryObserver {
  readonly counts = {
    enqueued: 0,
    sent: 0,
    retried: 0,
    rejected: 0,
    dropped: 0,
    abandoned: 0,
    expired: 0,
    failed: 0,
  };
  readonly skips: Record<EsalesSkipReason, number> = {
    invalid: 0,
    unknownMarket: 0,
    disabled: 0,
    bot: 0,
    customerKeyNotVerified: 0,
    headRequest: 0,
  };

  enqueued(): void {
    this.counts.enqueued++;
  }

  attempted(_cluster: string, attempt: number): void {
    if (attempt > 1) this.counts.retried++;
  }

  settled({ outcome, dropReason }: SettledNotification): void {
    this.counts[outcome]++;
    if (dropReason === 'shutdown') this.counts.abandoned++;
  }

  skipped(reason: EsalesSkipReason): void {
    this.skips[reason]++;
  }

  /** Skips added up. */
  skippedTotal(): number {
    let total = 0;
    for (const count of Object.values(this.skips)) total += count;
    return total;
  }
}
