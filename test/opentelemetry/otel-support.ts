import { metrics, type Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/** A reader that exports nothing by itself: the test pulls with `collect()`, deterministically. */
class PullReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point of one instrument, as exported. */
export interface Point {
  readonly attributes: Attributes;
  /** A sum's or a gauge's value; a histogram's count. */
  readonly value: number;
  /** Histograms only: the sum of the recorded values, and their min and max. */
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
}

/** One instrument, as exported. */
export interface Instrument {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: 'counter' | 'up-down-counter' | 'histogram' | 'gauge' | 'other';
  readonly scope: { readonly name: string; readonly version: string | undefined };
  readonly points: readonly Point[];
}

/** One collection, with lookups by name and by attributes. */
export class Snapshot {
  constructor(readonly instruments: readonly Instrument[]) {}

  get names(): string[] {
    return this.instruments.map((i) => i.name).sort();
  }

  instrument(name: string): Instrument | undefined {
    return this.instruments.find((i) => i.name === name);
  }

  /** The points of `name` whose attributes include `match` (every point without one). */
  points(name: string, match: Attributes = {}): Point[] {
    return (this.instrument(name)?.points ?? []).filter((p) =>
      Object.entries(match).every(([key, value]) => p.attributes[key] === value),
    );
  }

  /** The total of the matching points (for a histogram: how many values were recorded). */
  total(name: string, match: Attributes = {}): number {
    return this.points(name, match).reduce((sum, p) => sum + p.value, 0);
  }
}

/** Every attribute set any collection in this process exported, for the privacy checks. */
export const exportedAttributes: { instrument: string; attributes: Attributes }[] = [];

function kindOf(metric: MetricData): Instrument['kind'] {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'up-down-counter';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    case DataPointType.GAUGE:
      return 'gauge';
    default:
      return 'other';
  }
}

function pointsOf(metric: MetricData): Point[] {
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return metric.dataPoints.map((p) => ({
      attributes: p.attributes,
      value: p.value.count,
      sum: p.value.sum,
      ...(p.value.min !== undefined ? { min: p.value.min } : {}),
      ...(p.value.max !== undefined ? { max: p.value.max } : {}),
    }));
  }
  if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
    return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value.count }));
  }
  return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
}

/**
 * A real `MeterProvider` with a pull reader, registered as the global one (the package takes its
 * meter from the global provider when the app boots, so install this before `testApp()`).
 */
export class MetricsHarness {
  private constructor(
    private readonly provider: MeterProvider,
    private readonly reader: PullReader,
  ) {}

  /** Replaces the global MeterProvider with a fresh one (counters start at zero). */
  static install(): MetricsHarness {
    metrics.disable();
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    if (!metrics.setGlobalMeterProvider(provider)) {
      throw new Error('could not register the global MeterProvider');
    }
    return new MetricsHarness(provider, reader);
  }

  /** Collects now (cumulative: every count since `install()`), recording every attribute set. */
  async collect(): Promise<Snapshot> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    const instruments = instrumentsOf(resourceMetrics);
    for (const instrument of instruments) {
      for (const point of instrument.points) {
        exportedAttributes.push({ instrument: instrument.name, attributes: point.attributes });
      }
    }
    return new Snapshot(instruments);
  }

  async uninstall(): Promise<void> {
    metrics.disable();
    await this.provider.shutdown();
  }
}

function instrumentsOf(resourceMetrics: ResourceMetrics): Instrument[] {
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.map((metric) => ({
      name: metric.descriptor.name,
      unit: metric.descriptor.unit,
      description: metric.descriptor.description,
      kind: kindOf(metric),
      scope: { name: scope.scope.name, version: scope.scope.version },
      points: pointsOf(metric),
    })),
  );
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The rejection of `promise` (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
