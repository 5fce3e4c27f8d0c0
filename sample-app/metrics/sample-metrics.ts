/*
 * What an app does to see nestjs-esales' metrics: the package records them through the
 * `@opentelemetry/api` only (its global MeterProvider, a no-op until an SDK is registered), so the
 * app brings the SDK (`@opentelemetry/sdk-metrics`) and an exporter, and registers them before
 * `EsalesModule` boots. The sample serves them in Prometheus text at `GET /metrics` on its own port,
 * through `PrometheusExporter`'s request handler instead of the exporter's own server (port 9464).
 * Your app may just as well use the OpenTelemetry Node SDK, an OTLP exporter, or any other reader.
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
// In your own app: `from 'nestjs-esales'`.
import { esalesOptionsFromEnv } from '../../lib/index.js';

/**
 * Whether `ESALES_METRICS` turns the package's metrics on, read as `EsalesModule` reads it (`true`,
 * `1`, `yes`, `on`). A malformed environment counts as off here: `EsalesModule` reports every problem
 * at boot.
 */
export function metricsEnabled(env: Record<string, string | undefined> = process.env): boolean {
  try {
    return esalesOptionsFromEnv(env).metrics === true;
  } catch {
    return false;
  }
}

/** The app's OpenTelemetry metrics SDK, registered globally, and the reader that serves it. */
export class SampleMetrics {
  private constructor(
    readonly provider: MeterProvider,
    readonly exporter: PrometheusExporter,
  ) {}

  /**
   * Registers a `MeterProvider` with a Prometheus reader as the global one. Must run before the
   * Nest app is created: the package takes its meter from the global provider when `EsalesModule`
   * boots.
   */
  static start(): SampleMetrics {
    // preventServerStart: no second HTTP server; `MetricsController` serves the readings.
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    if (!metrics.setGlobalMeterProvider(provider)) {
      throw new Error('a global OpenTelemetry MeterProvider was already registered');
    }
    return new SampleMetrics(provider, exporter);
  }
}
