import type { EsalesTransport } from '../transport/esales-transport.interface.js';
import type { DeliveryObserver } from './delivery-observer.js';
import type { EsalesStats } from './esales-stats.interface.js';

/** Where the telemetry's gauges read the live state. */
export interface EsalesTelemetrySource {
  stats(): EsalesStats;
  /** Jobs waiting in Redis, with BullMQ; undefined otherwise or while Redis is away. */
  redisQueueSize(): Promise<number | undefined>;
}

/**
 * @internal What the pipeline needs of `nestjs-esales/opentelemetry`, in types of its own (so the
 * main entry's types never reach `@opentelemetry/api`).
 */
export interface TelemetryHooks {
  readonly observer: DeliveryObserver | undefined;
  wrapTransport(transport: EsalesTransport): EsalesTransport;
  observe(source: EsalesTelemetrySource): void;
  /** At shutdown: the gauges stop reading this app's state. */
  close(): void;
}
