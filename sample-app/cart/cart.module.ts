import { Module } from '@nestjs/common';
import { ProductsModule } from '../products/products.module.js';
import { CartController } from './cart.controller.js';

@Module({
  imports: [ProductsModule],
  controllers: [CartController],
})
export class CartModule {}
