import { Module } from '@nestjs/common';
import { CheckoutController } from './checkout.controller.js';

/** Injects `EsalesNotificationService`, which the globally registered `EsalesModule` provides. */
@Module({
  controllers: [CheckoutController],
})
export class CheckoutModule {}
