// Compatibility check, type-check only (`tsc -p tsconfig.json --noEmit`, never run): the packed
// nestjs-esales tarball as seen by a CommonJS TypeScript consumer ("type": "commonjs", module and
// moduleResolution nodenext, as in the Nest 11 starter) through the package's `exports` and `types`.
// The @ts-expect-error lines fail the check if an entry point's types resolve to `any`.
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import {
  EsalesConfigError,
  EsalesModule,
  EsalesNotificationService,
  type NonEsalesClickNotification,
} from 'nestjs-esales';
import { esalesConfig } from 'nestjs-esales/config';
import { ElevateStandIn, type StandInRequest } from 'nestjs-esales/testing';

/** A provider of the app's own that gets the package's service through Nest DI (design:paramtypes). */
@Injectable()
export class ClickTracker {
  constructor(private readonly esales: EsalesNotificationService) {}

  productClicked(notification: NonEsalesClickNotification): Promise<void> {
    return this.esales.sendNonEsalesClick(notification);
  }
}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    EsalesModule.forRootAsync(esalesConfig.asProvider()),
  ],
  providers: [ClickTracker],
})
export class AppModule {}

export const esalesConfigKey: string | symbol = esalesConfig.KEY;
export const esalesModule: DynamicModule = EsalesModule.forRootAsync({
  ...esalesConfig.asProvider(),
  isGlobal: true,
});

export function defaultMarketOf(options: ConfigType<typeof esalesConfig>): string | undefined {
  return options.defaultMarket;
}

export async function firstRequestTo(
  tracker: ClickTracker,
  notification: NonEsalesClickNotification,
): Promise<StandInRequest | undefined> {
  const standIn: ElevateStandIn = await ElevateStandIn.start({ host: '127.0.0.1' });
  try {
    await tracker.productClicked(notification);
    const requests: StandInRequest[] = await standIn.waitForRequests(1);
    return requests[0];
  } finally {
    await standIn.close();
  }
}

export function configProblems(error: unknown): readonly string[] {
  return error instanceof EsalesConfigError ? error.problems : [];
}

// @ts-expect-error customerKey must be a string
export const notAClick: NonEsalesClickNotification = { customerKey: 1, sessionKey: 's' };
// @ts-expect-error forRootAsync takes async options, not a market name
export const notAModule: DynamicModule = EsalesModule.forRootAsync('Sweden');
// @ts-expect-error asProvider() takes no arguments
export const notAProvider = esalesConfig.asProvider('esales');
// @ts-expect-error ElevateStandIn is started with ElevateStandIn.start(), its constructor is private
export const notAStandIn = new ElevateStandIn();
