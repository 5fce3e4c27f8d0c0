import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { ESALES_METRICS } from '../../lib/opentelemetry/instruments.js';

/*
 * P11: the OpenTelemetry SDK as an app registers it, in the process under test. A real
 * `MeterProvider` with a `PeriodicExportingMetricReader` that collects every `exportIntervalMs` into
 * an `InMemoryMetricExporter` (cumulative), so recording does the SDK's real aggregation work and
 * collection runs the package's observable gauges, all on this process's CPU. Registered globally
 * before the Nest module boots (the package takes its meter from the global provider at boot).
 */

export interface SdkMetricsOptions {
  /** The module option `metrics` (the SDK is registered either way, so only the option differs). */
  enabled: boolean;
  /** The reader's collection interval. */
  exportIntervalMs: number;
}

export interface SdkMetricsUsage {
  /** Collections exported so far. */
  exports: number;
  /** `esales.notification.outcomes`, all points, at the last collection (cumulative). */
  outcomes: number;
  /** Instruments of the package in the last collection. */
  instruments: number;
}

export interface SdkMetrics {
  usage(): SdkMetricsUsage;
  shutdown(): Promise<void>;
}

export function registerSdkMeterProvider(options: SdkMetricsOptions): SdkMetrics {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: options.exportIntervalMs,
    exportTimeoutMillis: Math.min(options.exportIntervalMs, 500),
  });
  const provider = new MeterProvider({ readers: [reader] });
  if (!metrics.setGlobalMeterProvider(provider)) {
    throw new Error('could not register the global MeterProvider');
  }
  let exports = 0;
  let outcomes = 0;
  let instruments = 0;
  /** Reads what was exported and lets it go (the exporter keeps every collection otherwise). */
  const drain = () => {
    const exported = exporter.getMetrics();
    exporter.reset();
    exports += exported.length;
    const last = exported.at(-1);
    if (!last) return;
    const ours = last.scopeMetrics.flatMap((scope) => scope.metrics);
    instruments = ours.filter((m) => m.descriptor.name.startsWith('esales.')).length;
    const metric = ours.find((m) => m.descriptor.name === ESALES_METRICS.outcomes);
    if (metric?.dataPointType === DataPointType.SUM) {
      outcomes = metric.dataPoints.reduce((sum, p) => sum + p.value, 0);
    }
  };
  return {
    usage: () => {
      drain();
      return { exports, outcomes, instruments };
    },
    shutdown: () => provider.shutdown(),
  };
}
