import { Controller, Get } from '@nestjs/common';
import { ElevateStandIn } from '../../lib/testing.js';

/** One request the embedded stand-in received, as the sample shows it. */
export interface ReceivedNotification {
  receivedAt: string;
  method: string;
  path: string;
  /** What the stand-in answered, as Elevate would have; null while it is still answering. */
  status: number | null;
  body: unknown;
}

/**
 * Shows what "Elevate" received, so clicks can be followed by hand (and by the sample's e2e test)
 * without a real cluster. Only exists while the embedded stand-in runs.
 */
@Controller('_esales-stand-in')
export class StandInController {
  constructor(private readonly standIn: ElevateStandIn) {}

  @Get('notifications')
  notifications(): ReceivedNotification[] {
    return this.standIn.requests.map(({ receivedAt, method, path, status, body }) => ({
      receivedAt: receivedAt.toISOString(),
      method,
      path,
      status: status ?? null,
      body,
    }));
  }
}
