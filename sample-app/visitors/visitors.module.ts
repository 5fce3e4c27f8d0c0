import { Module } from '@nestjs/common';
import { VisitorsController } from './visitors.controller.js';

@Module({
  controllers: [VisitorsController],
})
export class VisitorsModule {}
