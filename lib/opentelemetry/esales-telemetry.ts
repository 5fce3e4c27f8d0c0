import {
  context,
  createContextKey,
  metrics,
  type Attributes,
  type Counter,
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

/** Records every notification's fate; never throws (the engine calls it on its hot path). */
class MetricsObserver implements DeliveryObserver {
  private readonly enqueuedCounter: Counter;
  private readonly outcomes: Counter;
  private readonly skips: Counter;
  private readonly duration: Histogram;
  private readonly attemptDuration: Histogram;

  constructor(
    meter: Meter,
    private readonly marketOf: (market: string) => string,
  ) {
    this.enqueuedCounter = meter.createCounter(M.enqueued, {
      unit: '{notification}',
      description: 'Notifications handed to delivery',
    });
    this.outcomes = meter.createCounter(M.outcomes, {
      unit: '{notification}',
      description: 'Notifications by final outcome: sent, rejected, failed, expired, dropped',
    });
    this.skips = meter.createCounter(M.skipped, {
      unit: '{notification}',
      description: 'Notifications deliberately not sent, by reason',
    });
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

  private base(notification: PreparedNotification): Attributes {
    return { [A.kind]: notification.kind, [A.market]: this.marketOf(notification.market) };
  }

  enqueued(notification: PreparedNotification): void {
    this.enqueuedCounter.add(1, this.base(notification));
  }

  attempted(
    notification: PreparedNotification,
    _cluster: string,
    _attempt: number,
    durationMs: number,
    failure: AttemptFailure | undefined,
  ): void {
    const attributes = this.base(notification);
    attributes[A.attemptOutcome] = failure ? 'failure' : 'success';
    const type = errorTypeOf(failure?.error);
    if (type !== undefined) attributes[A.errorType] = type;
    this.attemptDuration.record(durationMs / 1000, attributes);
  }

  settled({ notification, outcome, dropReason, error, durationMs }: SettledNotification): void {
    const attributes = this.base(notification);
    attributes[A.outcome] = outcome;
    if (durationMs !== undefined) this.duration.record(durationMs / 1000, { ...attributes });
    if (dropReason !== undefined) attributes[A.dropReason] = dropReason;
    const type = outcome === 'dropped' ? undefined : errorTypeOf(error);
    if (type !== undefined) attributes[A.errorType] = type;
    this.outcomes.add(1, attributes);
  }

  skipped(reason: EsalesSkipReason, kind: EsalesNotificationKindName): void {
    this.skips.add(1, { [A.kind]: kind, [A.skipReason]: reason });
  }
}
