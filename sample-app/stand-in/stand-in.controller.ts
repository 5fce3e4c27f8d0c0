import { Controller, Get } from '@nestjs/common';
import { EsalesNotificationService, type EsalesStats } from '../../lib/index.js';
import { ElevateStandIn } from '../../lib/testing.js';

/** One request the embedded stand-in received, as the sample shows it. */
export interface ReceivedNotification {
  receivedAt: string;
  method: string;
  path: string;
  /** The notification endpoint, e.g. `click` or `payment`; null for a path that is none (404). */
  kind: string | null;
  /** What the stand-in answered, as Elevate would have; null while it is still answering. */
  status: number | null;
  body: unknown;
}

/**
 * Shows what "Elevate" received, so notifications can be followed by hand (and by the sample's e2e
 * test) without a real cluster. Only exists while the embedded stand-in runs.
 */
@Controller('_esales-stand-in')
export class StandInController {
  constructor(
    private readonly standIn: ElevateStandIn,
    private readonly esales: EsalesNotificationService,
  ) {}

  @Get('notifications')
  notifications(): ReceivedNotification[] {
    return this.standIn.requests.map(({ receivedAt, method, path, kind, status, body }) => ({
      receivedAt: receivedAt.toISOString(),
      method,
      path,
      kind: kind ?? null,
      status: status ?? null,
      body,
    }));
  }

  /**
   * The sender's side: `EsalesNotificationService.getStats()`, with what never reached the stand-in
   * (`skippedBy.duplicate`: payments skipped by their `dedupeKey`; `skippedBy.bot`, …) per kind in
   * `byKind`.
   */
  @Get('stats')
  stats(): EsalesStats {
    return this.esales.getStats();
  }
}
