import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { SampleMetrics } from './sample-metrics.js';

/** `GET /metrics` and the SDK's lifetime; registered only with `ESALES_METRICS=true`. */
@Module({})
export class MetricsModule implements OnApplicationShutdown {
  constructor(private readonly sampleMetrics: SampleMetrics) {}

  static register(sampleMetrics: SampleMetrics): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [{ provide: SampleMetrics, useValue: sampleMetrics }],
    };
  }

  /** Stops the readers; a last scrape after this answers with no metrics. */
  async onApplicationShutdown(): Promise<void> {
    await this.sampleMetrics.provider.shutdown();
  }
}
