import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SampleMetrics } from './sample-metrics.js';

/** `GET /metrics`: the current readings in Prometheus text, as the exporter's own server would. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly sampleMetrics: SampleMetrics) {}

  @Get()
  scrape(@Req() request: Request, @Res() response: Response): void {
    // The handler writes the whole response (200 text/plain, or 500 if collecting failed).
    this.sampleMetrics.exporter.getMetricsRequestHandler(request, response);
  }
}
