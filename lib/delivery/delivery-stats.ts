import { NOTIFICATION_KIND_NAMES } from '../notifications/index.js';
import type {
  EsalesNotificationKindName,
  PreparedNotification,
} from '../notifications/notification-kind.js';
import type { AttemptFailure } from './attempt.js';
import type { DeliveryObserver, SettledNotification } from './delivery-observer.js';
import type { EsalesKindStats, EsalesSkipReason } from './esales-stats.interface.js';

/** The counters of one kind, or of all together. */
class Counters {
  enqueued = 0;
  sent = 0;
  retried = 0;
  rejected = 0;
  dropped = 0;
  abandoned = 0;
  expired = 0;
  failed = 0;
  notRetried = 0;
  readonly skippedBy: Record<EsalesSkipReason, number> = {
    invalid: 0,
    unknownMarket: 0,
    disabled: 0,
    bot: 0,
    customerKeyNotVerified: 0,
    headRequest: 0,
    duplicate: 0,
    noConsent: 0,
  };

  snapshot(): EsalesKindStats {
    let skipped = 0;
    for (const count of Object.values(this.skippedBy)) skipped += count;
    const { enqueued, sent, retried, rejected, dropped, abandoned, expired, failed, notRetried } =
      this;
    return {
      enqueued,
      sent,
      retried,
      rejected,
      dropped,
      abandoned,
      expired,
      failed,
      notRetried,
      skipped,
      skippedBy: { ...this.skippedBy },
    };
  }
}

/** @internal The counters behind `getStats()`, in total and per kind: an observer like any other. */
export class DeliveryStats implements DeliveryObserver {
  private readonly total = new Counters();
  private readonly kinds = Object.fromEntries(
    NOTIFICATION_KIND_NAMES.map((name) => [name, new Counters()]),
  ) as Record<EsalesNotificationKindName, Counters>;

  enqueued(notification: PreparedNotification): void {
    this.total.enqueued++;
    this.kinds[notification.kind].enqueued++;
  }

  attempted(
    notification: PreparedNotification,
    _cluster: string,
    attempt: number,
    _durationMs: number,
    failure: AttemptFailure | undefined,
  ): void {
    const kind = this.kinds[notification.kind];
    if (attempt > 1) {
      this.total.retried++;
      kind.retried++;
    }
    if (failure?.withheld) {
      this.total.notRetried++;
      kind.notRetried++;
    }
  }

  settled({ notification, outcome, dropReason }: SettledNotification): void {
    const kind = this.kinds[notification.kind];
    this.total[outcome]++;
    kind[outcome]++;
    if (dropReason === 'shutdown') {
      this.total.abandoned++;
      kind.abandoned++;
    }
  }

  skipped(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void {
    this.total.skippedBy[reason]++;
    this.kinds[kind].skippedBy[reason]++;
  }

  /** The totals. */
  totals(): EsalesKindStats {
    return this.total.snapshot();
  }

  /** Per kind. */
  byKind(): Record<EsalesNotificationKindName, EsalesKindStats> {
    const result = {} as Record<EsalesNotificationKindName, EsalesKindStats>;
    for (const name of NOTIFICATION_KIND_NAMES) result[name] = this.kinds[name].snapshot();
    return result;
  }
}
