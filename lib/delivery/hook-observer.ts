import { describeError, isThenable } from '../common/app-code.js';
import type { RateLimitedLog } from '../common/rate-limited-log.js';
import type { DeliveryObserver, SettledNotification } from './delivery-observer.js';
import type {
  EsalesDeliveryEvent,
  EsalesDeliveryHooks,
} from './esales-delivery-hooks.interface.js';

/** @internal Calls the app's `onDelivered` / `onFailed` / `onDropped` hooks; nothing they do escapes. */
export class HookObserver implements DeliveryObserver {
  constructor(
    private readonly hooks: EsalesDeliveryHooks,
    private readonly warnings: RateLimitedLog,
  ) {}

  settled({ notification, outcome, attempts, dropReason, error }: SettledNotification): void {
    const { onDelivered, onFailed, onDropped } = this.hooks;
    // Most apps set no hook: then no event is built for each notification either.
    if (!onDelivered && !onFailed && !onDropped) return;
    const event: EsalesDeliveryEvent = {
      kind: notification.kind,
      id: notification.id,
      market: notification.market,
      productKey: notification.productKey,
      variantKey: notification.variantKey,
      attempts,
    };
    if (outcome === 'sent') {
      if (onDelivered) this.call('onDelivered', () => onDelivered(event));
    } else if (outcome === 'dropped') {
      if (onDropped) this.call('onDropped', () => onDropped(event, dropReason ?? 'queue-full'));
    } else if (onFailed && error) {
      this.call('onFailed', () => onFailed(event, error));
    }
  }

  /** Runs an app callback so that neither a throw nor a rejected promise can escape. */
  private call(name: string, call: () => unknown): void {
    const report = (error: unknown): void =>
      this.warnings.warn(`hook:${name}`, () => `${name} hook threw: ${describeError(error)}`);
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, report);
    } catch (error) {
      report(error);
    }
  }
}
