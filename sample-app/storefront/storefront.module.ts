import { Module } from '@nestjs/common';
import { ProductsModule } from '../products/products.module.js';
import { StorefrontController } from './storefront.controller.js';

/** The HTML storefront; `EsalesVisitorCookiesService` comes from the global `EsalesModule`. */
@Module({
  imports: [ProductsModule],
  controllers: [StorefrontController],
})
export class StorefrontModule {}
