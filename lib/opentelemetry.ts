/**
 * `nestjs-esales/opentelemetry`: metrics through `@opentelemetry/api`, and the tracing control of
 * the package's own requests. A separate entry point, so apps without OpenTelemetry need no
 * `@opentelemetry/api` (an optional peer); `metrics: true` (`ESALES_METRICS=true`) loads it when
 * the app starts. The instrument and attribute names are public API.
 */
export {
  BREAKER_STATE_VALUES,
  ESALES_ATTRIBUTES,
  ESALES_METRICS,
} from './opentelemetry/instruments.js';
export { EsalesTelemetry, errorTypeOf } from './opentelemetry/esales-telemetry.js';
export type {
  EsalesTelemetryOptions,
  EsalesTelemetrySource,
} from './opentelemetry/esales-telemetry.js';
