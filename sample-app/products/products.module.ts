import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service.js';
import { ProductsController } from './products.controller.js';

/**
 * `@TrackClick()` finds `EsalesModule`'s providers without this module importing it: the sample
 * registers `EsalesModule` once, in the root module. The catalog is exported for the cart.
 */
@Module({
  controllers: [ProductsController],
  providers: [CatalogService],
  exports: [CatalogService],
})
export class ProductsModule {}
