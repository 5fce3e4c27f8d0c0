// Compatibility check, type-check only (`tsc -p tsconfig.json --noEmit`, never run): the packed
// nestjs-esales tarball as seen by a CommonJS TypeScript consumer ("type": "commonjs", module and
// moduleResolution nodenext, as in the Nest 11 starter) through the package's `exports` and `types`.
// The @ts-expect-error lines fail the check if an entry point's types resolve to `any`.
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Param,
  Post,
  Redirect,
  Res,
  type DynamicModule,
} from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import {
  AddingToCartNotificationDto,
  EsalesConfigError,
  EsalesModule,
  EsalesNotificationService,
  EsalesVisitorCookiesService,
  PaymentLineDto,
  PaymentNotificationDto,
  TrackNonEsalesClick,
  type AddingToCartNotification,
  type CustomerKeyAuthentication,
  type EsalesHttpRequest,
  type EsalesPaymentOptions,
  type EsalesStats,
  type NonEsalesClickNotification,
  type PaymentLine,
  type PaymentNotification,
  type TrackNonEsalesClickOptions,
} from 'nestjs-esales';
import { esalesConfig } from 'nestjs-esales/config';
import { ElevateStandIn, type StandInKind, type StandInRequest } from 'nestjs-esales/testing';

/** A provider of the app's own that gets the package's service through Nest DI (design:paramtypes). */
@Injectable()
export class ClickTracker {
  constructor(private readonly esales: EsalesNotificationService) {}

  productClicked(notification: NonEsalesClickNotification): Promise<void> {
    return this.esales.sendNonEsalesClick(notification);
  }
}

/** The app's checkout and cart: payments and cart additions through the package's service. */
@Injectable()
export class Checkout {
  constructor(private readonly esales: EsalesNotificationService) {}

  paid(notification: PaymentNotification, options?: EsalesPaymentOptions): Promise<void> {
    return this.esales.sendPayment(notification, options);
  }

  addedToCart(notification: AddingToCartNotification): Promise<void> {
    return this.esales.sendAddingToCart(notification);
  }
}

const line: PaymentLine = { productKey: 'P-1', quantity: 1, sellingPrice: 100 };
export const payment: PaymentNotification = {
  market: 'UK',
  customerKey: 'compat-customer-1',
  sessionKey: 'compat-session-1',
  lines: [line, { variantKey: 'V-2', quantity: 2, sellingPrice: 50, cost: 20 }],
};
export const addingToCart: AddingToCartNotification = {
  market: 'UK',
  customerKey: 'compat-customer-1',
  sessionKey: 'compat-session-1',
  id: 'compat-id-1',
  ticket: 'compat-ticket-1',
};
export const paymentOptions: EsalesPaymentOptions = { dedupeKey: 'order-1' };

/** The DTOs as a ValidationPipe body type would see them. */
export function paymentDto(): PaymentNotificationDto {
  const dtoLine = new PaymentLineDto();
  dtoLine.productKey = 'P-1';
  dtoLine.quantity = 1;
  dtoLine.sellingPrice = 100;
  const dto = new PaymentNotificationDto();
  dto.customerKey = 'compat-customer-1';
  dto.sessionKey = 'compat-session-1';
  dto.lines = [dtoLine];
  return dto;
}
export function addingToCartDto(): AddingToCartNotification {
  const dto = new AddingToCartNotificationDto();
  dto.customerKey = 'compat-customer-1';
  dto.sessionKey = 'compat-session-1';
  dto.ticket = 'compat-ticket-1';
  return dto;
}

/** What a test reads off a signed payment the stand-in received. */
export function paymentTokenOf(standIn: ElevateStandIn): string | undefined {
  const kind: StandInKind = 'payment';
  const [received]: StandInRequest[] = standIn.requestsOf(kind);
  const token: string | undefined = received?.query['paymentToken'];
  return received?.kind === 'payment' ? token : undefined;
}

const TRACK: TrackNonEsalesClickOptions = {
  productKey: 'productKey',
  variantKey: { query: 'variant' },
};

/** A tracked redirect route; another with a function source and the market from the path. */
@Controller('products')
export class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick(TRACK)
  redirect(@Param('productKey') productKey: string): { url: string } {
    return { url: `/p/${encodeURIComponent(productKey)}` };
  }

  @Get(':productKey/go/:market')
  @Redirect()
  @TrackNonEsalesClick({
    productKey: (request: EsalesHttpRequest) =>
      (request.params as { productKey?: string }).productKey,
    market: { param: 'market' },
  })
  go(@Param('productKey') productKey: string): { url: string } {
    return { url: `/p/${productKey}` };
  }
}

/** Sign-in and sign-out setting and clearing the signed-in Apptus cookies. */
@Controller('account')
export class AccountController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  @Post('sign-in')
  @HttpCode(204)
  signIn(@Res({ passthrough: true }) response: unknown): CustomerKeyAuthentication {
    return this.visitorCookies.signIn(response, 'internal-user-42', 'UK');
  }

  @Post('sign-out')
  @HttpCode(204)
  signOut(@Res({ passthrough: true }) response: unknown): void {
    this.visitorCookies.signOut(response);
  }
}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    EsalesModule.forRootAsync(esalesConfig.asProvider()),
  ],
  providers: [ClickTracker, Checkout],
  controllers: [ProductsController, AccountController],
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

/** Waits for queued clicks, then reads the counters. */
export async function statsOnceIdle(service: EsalesNotificationService): Promise<EsalesStats> {
  const idle: boolean = await service.flush(5_000);
  if (!idle) throw new Error('the queue did not become idle');
  return service.getStats();
}

export function configProblems(error: unknown): readonly string[] {
  return error instanceof EsalesConfigError ? error.problems : [];
}

// @ts-expect-error customerKey must be a string
export const notAClick: NonEsalesClickNotification = { customerKey: 1, sessionKey: 's' };
// @ts-expect-error a payment line needs a quantity
export const notAPaymentLine: PaymentLine = { productKey: 'P', sellingPrice: 1 };
// @ts-expect-error an adding to cart needs the ticket Elevate returned
export const notAnAddingToCart: AddingToCartNotification = { customerKey: 'c', sessionKey: 's' };
// @ts-expect-error a payment carries no id
export const notAPaymentWithId: PaymentNotification = { ...payment, id: 'x' };
// @ts-expect-error dedupeKey is a string
export const notPaymentOptions: EsalesPaymentOptions = { dedupeKey: 1 };
// @ts-expect-error sendPayment takes a payment, not an adding to cart
export const notSent = (service: EsalesNotificationService) => service.sendPayment(addingToCart);
// @ts-expect-error requestsOf takes one of the stand-in's notification kinds
export const notAKind = (standIn: ElevateStandIn) => standIn.requestsOf('purchase');
// @ts-expect-error forRootAsync takes async options, not a market name
export const notAModule: DynamicModule = EsalesModule.forRootAsync('Sweden');
// @ts-expect-error asProvider() takes no arguments
export const notAProvider = esalesConfig.asProvider('esales');
// @ts-expect-error a value source is a parameter name, { param }, { query } or a function
export const notATracking = TrackNonEsalesClick({ productKey: { header: 'x-product' } });
// @ts-expect-error signIn() needs the visitor id
export const notASignIn = (cookies: EsalesVisitorCookiesService) => cookies.signIn({});
// @ts-expect-error ElevateStandIn is started with ElevateStandIn.start(), its constructor is private
export const notAStandIn = new ElevateStandIn();
