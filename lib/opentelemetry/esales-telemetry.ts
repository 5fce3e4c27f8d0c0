import {
  context,
  createContextKey,
  metrics,
  type Attributes,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
} from '@opentelemetry/api';
import type { AttemptFailure } from '../delivery/attempt.js';
import type { DeliveryObserver, SettledNotification } from '../delivery/delivery-observer.js';
import type { EsalesSkipReason, EsalesStats } from '../delivery/esales-stats.interface.js';
import { EsalesDeliveryError } from '../errors/esales.error.js';
import { EsalesNetworkError } from '../errors/esales-network.error.js';
import { EsalesTimeoutError } from '../errors/esales-timeout.error.js';
import { EsalesUndeliveredError } from '../errors/esales-undelivered.error.js';
import type {
  EsalesNotificationKindName,
  PreparedNotification,
} from '../notifications/notification-kind.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../package-info.js';
import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import type { EsalesTelemetrySource, TelemetryHooks } from '../delivery/telemetry.interface.js';

export type { EsalesTelemetrySource } from '../delivery/telemetry.interface.js';
import {
  BREAKER_STATE_VALUES,
  ESALES_ATTRIBUTES as A,
  ESALES_METRICS as M,
} from './instruments.js';

/**
 * The context key OpenTelemetry's instrumentations read to skip a span (`@opentelemetry/core`'s
 * `suppressTracing` sets this very key: `createContextKey` is `Symbol.for` of its description).
 */
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** @internal What `EsalesModule` builds from `metrics` and `traceNotifications`. */
export interface EsalesTelemetryOptions {
  readonly metrics: boolean;
  readonly traceNotifications: boolean;
  /** The markets that may appear as an attribute; others are reported as `_other`. */
  readonly markets: readonly string[];
  /** For tests and apps without a global provider. @default the global MeterProvider */
  readonly meterProvider?: MeterProvider | undefined;
}

/**
 * @internal The package's OpenTelemetry side: a delivery observer that records metrics, gauges
 * that read the live state, and the transport wrapper that keeps the app's HTTP and undici
 * instrumentation from tracing (and injecting `traceparent` into) our own POSTs.
 */
export class EsalesTelemetry implements TelemetryHooks {
  readonly observer: DeliveryObserver | undefined;
  private readonly meter: Meter | undefined;
  private readonly markets: ReadonlySet<string>;
  private readonly removals: (() => void)[] = [];

  constructor(private readonly options: EsalesTelemetryOptions) {
    this.markets = new Set(options.markets);
    if (!options.metrics) return;
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    this.meter = provider.getMeter(PACKAGE_NAME, PACKAGE_VERSION);
    this.observer = new MetricsObserver(this.meter, (market) => this.marketOf(market));
  }

  /** A market as an attribute: one of the configured ones, or `_other`. */
  private marketOf(market: string): string {
    return this.markets.has(market) ? market : '_other';
  }

  /**
   * `transport` with every request sent in a context that suppresses tracing, unless the app asked
   * for spans (`traceNotifications`). Without an OpenTelemetry SDK both are no-ops.
   */
  wrapTransport(transport: EsalesTransport): EsalesTransport {
    if (this.options.traceNotifications) return transport;
    return {
      send: (request) =>
        context.with(context.active().setValue(SUPPRESS_TRACING, true), () =>
          transport.send(request),
        ),
      ...(transport.close ? { close: () => transport.close?.() } : {}),
    };
  }

  /** Removes the gauges' callbacks (a closed app must not be reported, nor kept alive). */
  close(): void {
    for (const remove of this.removals.splice(0)) remove();
  }

  /** Registers the observable gauges over `source`. */
  observe(source: EsalesTelemetrySource): void {
    const meter = this.meter;
    if (!meter) return;
    const gauge = (
      name: string,
      unit: string,
      description: string,
      callback: ObservableCallback,
    ) => {
      const instrument = meter.createObservableGauge(name, { unit, description });
      instrument.addCallback(callback);
      this.removals.push(() => instrument.removeCallback(callback));
    };
    const perCluster = (
      name: string,
      unit: string,
      description: string,
      read: (cluster: EsalesStats['clusters'][string]) => number,
    ): void => {
      gauge(name, unit, description, (result) => {
        for (const [cluster, stats] of Object.entries(source.stats().clusters)) {
          result.observe(read(stats), { [A.cluster]: cluster });
        }
      });
    };
    perCluster(
      M.queueSize,
      '{notification}',
      'Notifications waiting for an attempt',
      (c) => c.queued + c.retrying,
    );
    perCluster(M.inFlight, '{attempt}', 'HTTP attempts in flight', (c) => c.inFlight);
    perCluster(
      M.concurrencyLimit,
      '{attempt}',
      'Attempts allowed in flight',
      (c) => c.concurrencyLimit,
    );
    perCluster(
      M.breakerState,
      '1',
      'Circuit breaker: 0 closed, 1 half-open, 2 open',
      (c) => BREAKER_STATE_VALUES[c.breaker],
    );
    gauge(M.redisQueueSize, '{job}', 'Jobs waiting in the BullMQ queues', async (result) => {
      const size = await source.redisQueueSize();
      if (size !== undefined) result.observe(size);
    });
  }
}

/** The error as `error.type`: a status, `timeout`, a network code, or why it went undelivered. */
export function errorTypeOf(error: EsalesDeliveryError | undefined): string | undefined {
  if (!error) return undefined;
  if (error instanceof EsalesUndeliveredError) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof EsalesDeliveryError ? errorTypeOf(cause) : error.reason;
  }
  if (error instanceof EsalesTimeoutError) return 'timeout';
  if (error instanceof EsalesNetworkError) return error.code;
  return error.status === undefined ? error.name : String(error.status);
}

/**
 * Counts by attribute set, kept here and reported by an asynchronous (observable) counter at
 * collection time: a Map lookup and an increment per notification instead of an SDK recording,
 * which hashes the attributes each time. The totals are cumulative, as a counter's are.
 */
class LocalCounts {
  private readonly counts = new Map<string, { readonly attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, unit: string, description: string) {
    const counter = meter.createObservableCounter(name, { unit, description });
    const callback: ObservableCallback = (result) => {
      for (const { attributes, value } of this.counts.values()) result.observe(value, attributes);
    };
    // Never removed, unlike the gauges' callbacks: a counter keeps its totals (those of the
    // shutdown drain included) as a synchronous one would.
    counter.addCallback(callback);
  }

  add(key: string, attributes: () => Attributes): void {
    const entry = this.counts.get(key);
    if (entry) entry.value++;
    else this.counts.set(key, { attributes: Object.freeze(attributes()), value: 1 });
  }
}

/** Attribute sets by key, made once: the hot path allocates none. */
class AttributeSets {
  private readonly sets = new Map<string, Attributes>();

  get(key: string, make: () => Attributes): Attributes {
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = Object.freeze(make())));
    return set;
  }
}

/** Records every notification's fate; never throws (the engine calls it on its hot path). */
class MetricsObserver implements DeliveryObserver {
  private readonly enqueuedCounts: LocalCounts;
  private readonly outcomes: LocalCounts;
  private readonly skips: LocalCounts;
  private readonly duration: Histogram;
  private readonly attemptDuration: Histogram;
  private readonly attributeSets = new AttributeSets();

  constructor(
    meter: Meter,
    private readonly marketOf: (market: string) => string,
  ) {
    this.enqueuedCounts = new LocalCounts(
      meter,
      M.enqueued,
      '{notification}',
      'Notifications handed to delivery',
    );
    this.outcomes = new LocalCounts(
      meter,
      M.outcomes,
      '{notification}',
      'Notifications by final outcome: sent, rejected, failed, expired, dropped',
    );
    this.skips = new LocalCounts(
      meter,
      M.skipped,
      '{notification}',
      'Notifications deliberately not sent, by reason',
    );
    this.duration = meter.createHistogram(M.duration, {
      unit: 's',
      description: 'Time from being queued to the final outcome',
      advice: {
        explicitBucketBoundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      },
    });
    this.attemptDuration = meter.createHistogram(M.attemptDuration, {
      unit: 's',
      description: 'Duration of one HTTP attempt at Elevate',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
    });
  }

  enqueued(notification: PreparedNotification): void {
    const { kind } = notification;
    const market = this.marketOf(notification.market);
    this.enqueuedCounts.add(`${kind}\u0000${market}`, () => ({
      [A.kind]: kind,
      [A.market]: market,
    }));
  }

  attempted(
    notification: PreparedNotification,
    _cluster: string,
    _attempt: number,
    durationMs: number,
    failure: AttemptFailure | undefined,
  ): void {
    const { kind } = notification;
    const market = this.marketOf(notification.market);
    const type = errorTypeOf(failure?.error);
    const attributes = this.attributeSets.get(
      `a\u0000${kind}\u0000${market}\u0000${type ?? ''}`,
      () => ({
        [A.kind]: kind,
        [A.market]: market,
        [A.attemptOutcome]: failure ? 'failure' : 'success',
        ...(type !== undefined ? { [A.errorType]: type } : {}),
      }),
    );
    this.attemptDuration.record(durationMs / 1000, attributes);
  }

  settled({ notification, outcome, dropReason, error, durationMs }: SettledNotification): void {
    const { kind } = notification;
    const market = this.marketOf(notification.market);
    if (durationMs !== undefined) {
      const attributes = this.attributeSets.get(
        `d\u0000${kind}\u0000${market}\u0000${outcome}`,
        () => ({
          [A.kind]: kind,
          [A.market]: market,
          [A.outcome]: outcome,
        }),
      );
      this.duration.record(durationMs / 1000, attributes);
    }
    const type = outcome === 'dropped' ? undefined : errorTypeOf(error);
    const key = `${kind}\u0000${market}\u0000${outcome}\u0000${dropReason ?? ''}\u0000${type ?? ''}`;
    this.outcomes.add(key, () => ({
      [A.kind]: kind,
      [A.market]: market,
      [A.outcome]: outcome,
      ...(dropReason !== undefined ? { [A.dropReason]: dropReason } : {}),
      ...(type !== undefined ? { [A.errorType]: type } : {}),
    }));
  }

  skipped(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void {
    this.skips.add(`${kind}\u0000${reason}`, () => ({ [A.kind]: kind, [A.skipReason]: reason }));
  }
}
