import { Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { EsalesNotificationService } from '../../lib/index.js';
import { ElevateStandIn } from '../../lib/testing.js';
import { StandInController } from './stand-in.controller.js';

/** The embedded stand-in's route and lifetime; registered only when the stand-in was started. */
@Module({})
export class StandInModule implements OnApplicationShutdown {
  constructor(
    private readonly standIn: ElevateStandIn,
    private readonly notifications: EsalesNotificationService,
  ) {}

  static register(standIn: ElevateStandIn): DynamicModule {
    return {
      module: StandInModule,
      controllers: [StandInController],
      providers: [{ provide: ElevateStandIn, useValue: standIn }],
    };
  }

  /**
   * Nest does not promise an order between modules' shutdown hooks, so wait for the queue to drain
   * (bounded by `shutdownTimeoutMs`) before closing: clicks still queued at SIGTERM reach the
   * stand-in instead of failing against a closed port.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.notifications.flush();
    await this.standIn.close();
    const { sent, rejected, dropped, expired, failed } = this.notifications.getStats();
    new Logger('SampleApp').log(
      `Closed the embedded Elevate stand-in after ${this.standIn.requests.length} request(s); ` +
        `notifications sent ${sent}, rejected ${rejected}, dropped ${dropped}, expired ${expired}, failed ${failed}`,
    );
  }
}
