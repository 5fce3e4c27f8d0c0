import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
// In your own app: `from 'nestjs-esales'`, `'nestjs-esales/config'` and `'nestjs-esales/testing'`.
import { EsalesModule } from '../lib/index.js';
import { esalesConfig } from '../lib/config.js';
import type { ElevateStandIn } from '../lib/testing.js';
import { CartModule } from './cart/cart.module.js';
import { CheckoutModule } from './checkout/checkout.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import type { SampleMetrics } from './metrics/sample-metrics.js';
import { ProductsModule } from './products/products.module.js';
import { StandInModule } from './stand-in/stand-in.module.js';
import { StorefrontModule } from './storefront/storefront.module.js';
import { VisitorsModule } from './visitors/visitors.module.js';

@Module({
  imports: [
    // Relative to the working directory, which `npm start` sets to the repository root. Variables
    // already in the environment win over the file.
    ConfigModule.forRoot({ envFilePath: 'sample-app/.env' }),
    // Global, so that feature modules inject `EsalesVisitorCookiesService` (sign-in, sign-out) and
    // `EsalesNotificationService` (checkout) without importing it. The tracking decorators would
    // find its providers either way.
    EsalesModule.forRootAsync({ ...esalesConfig.asProvider(), isGlobal: true }),
    ProductsModule,
    CartModule,
    CheckoutModule,
    VisitorsModule,
    StorefrontModule,
  ],
})
export class AppModule {
  /**
   * The app, with the stand-in's route when `main.ts` started an embedded stand-in, and
   * `GET /metrics` when it started the metrics SDK (`ESALES_METRICS=true`).
   */
  static register(
    standIn: ElevateStandIn | undefined,
    sampleMetrics?: SampleMetrics,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...(standIn ? [StandInModule.register(standIn)] : []),
        ...(sampleMetrics ? [MetricsModule.register(sampleMetrics)] : []),
      ],
    };
  }
}
