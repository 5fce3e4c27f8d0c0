import { Module } from '@nestjs/common';
import { CatalogService } from './catalog.service.js';
import { ProductsController } from './products.controller.js';

/**
 * `@TrackNonEsalesClick()` needs `EsalesModule`'s providers in the module of its controller; the
 * sample registers `EsalesModule` globally, so this module does not import it.
 */
@Module({
  controllers: [ProductsController],
  providers: [CatalogService],
})
export class ProductsModule {}
