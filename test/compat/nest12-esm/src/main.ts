// Compatibility check: the packed nestjs-esales tarball in a Nest 12 ESM app, compiled with its own tsc;
// also `nestjs-esales/config` with @nestjs/config 12, and click tracking (`@TrackNonEsalesClick()`,
// `EsalesVisitorCookiesService`) in a real HTTP app on @nestjs/platform-express 12; a signed payment
// and an adding to cart sent through the app's own provider.
import 'reflect-metadata';
import { createHmac } from 'node:crypto';
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
  type INestApplication,
  type INestApplicationContext,
  type LoggerService,
} from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import {
  AddingToCartNotificationDto,
  CustomerKeyAuthentication,
  EsalesConfigError,
  EsalesError,
  EsalesModule,
  EsalesNotificationService,
  EsalesValidationError,
  EsalesVisitorCookiesService,
  PaymentLineDto,
  PaymentNotificationDto,
  TrackNonEsalesClick,
  type AddingToCartNotification,
  type EsalesPaymentOptions,
  type NonEsalesClickNotification,
  type PaymentNotification,
} from 'nestjs-esales';
import { esalesConfig } from 'nestjs-esales/config';
import { ElevateStandIn, type StandInRequest } from 'nestjs-esales/testing';

const NAME = 'compat nest12-esm';
const TIMEOUT_MS = 10_000;
const ENDPOINT = '/api/v1/notifications/non-esales-click';
const PAYMENT_ENDPOINT = '/api/v1/notifications/payment';
const ADDING_TO_CART_ENDPOINT = '/api/v1/notifications/adding-to-cart';
const PRIVATE_KEY = 'compat-private-key';
const VISITOR_ID = 'compat-visitor-42';
// Click tracking skips bots (isbot), so the requests present themselves as a browser.
const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let finished = false;
const watchdog = setTimeout(() => {
  console.error(
    finished
      ? `${NAME}: FAILED: process still alive ${TIMEOUT_MS / 1000} s after start although the check finished (open handles after close)`
      : `${NAME}: FAILED: timed out after ${TIMEOUT_MS / 1000} s`,
  );
  process.exit(1);
}, TIMEOUT_MS);

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A provider of the app's own that gets the package's service through Nest DI (design:paramtypes). */
@Injectable()
class ClickTracker {
  constructor(private readonly esales: EsalesNotificationService) {}

  productClicked(notification: NonEsalesClickNotification): Promise<void> {
    return this.esales.sendNonEsalesClick(notification);
  }
}

/** The app's checkout and cart, sending payments and cart additions through the package's service. */
@Injectable()
class Checkout {
  constructor(private readonly esales: EsalesNotificationService) {}

  paid(notification: PaymentNotification, options?: EsalesPaymentOptions): Promise<void> {
    return this.esales.sendPayment(notification, options);
  }

  addedToCart(notification: AddingToCartNotification): Promise<void> {
    return this.esales.sendAddingToCart(notification);
  }
}

@Module({})
class AppModule {
  static register(clusterUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The private key signs payments (and is the stand-in's, which validates the paymentToken).
        EsalesModule.forRoot({
          clusterUrl,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
          privateKey: PRIVATE_KEY,
        }),
      ],
      providers: [ClickTracker, Checkout],
    };
  }
}

/**
 * One signed payment and one adding to cart through the app's `Checkout` provider: the stand-in must
 * see the right kinds, exact bodies (no `id` in the payment, `market, customerKey, sessionKey, id,
 * ticket` in that order in the adding to cart) and a `paymentToken` that is the HMAC-SHA256 of the
 * payment's body bytes with the private key.
 */
async function checkPaymentAndAddingToCart(
  standIn: ElevateStandIn,
  app: INestApplicationContext,
): Promise<void> {
  for (const [name, dto] of Object.entries({
    PaymentNotificationDto,
    PaymentLineDto,
    AddingToCartNotificationDto,
  })) {
    check(typeof dto === 'function', `nestjs-esales exports no ${name} class`);
  }
  standIn.clear();
  const checkout = app.get(Checkout);
  check(checkout instanceof Checkout, 'app.get(Checkout) did not return a Checkout');

  await checkout.paid(
    {
      customerKey: 'compat-customer-3',
      sessionKey: 'compat-session-3',
      lines: [{ productKey: 'P-5', quantity: 1, sellingPrice: 100 }],
    },
    { dedupeKey: 'compat-nest12-esm-order-1' },
  );
  await standIn.waitForRequests(1);
  const payments = standIn.requestsOf('payment');
  check(
    payments.length === 1 && standIn.requests.length === 1,
    `stand-in received ${standIn.requests.length} requests (${payments.length} payments), expected 1 payment`,
  );
  const [payment] = payments;
  check(payment, 'no payment recorded');
  check(payment.kind === 'payment', `payment recorded as kind ${String(payment.kind)}`);
  check(payment.method === 'POST', `payment method is ${payment.method}, expected POST`);
  const expectedPaymentBody =
    '{"market":"UK","customerKey":"compat-customer-3","sessionKey":"compat-session-3",' +
    '"lines":[{"productKey":"P-5","variantKey":null,"quantity":1,"sellingPrice":100}]}';
  check(
    payment.rawBody === expectedPaymentBody,
    `payment body is ${JSON.stringify(payment.rawBody)}, expected ${JSON.stringify(expectedPaymentBody)}`,
  );
  const paymentBody = payment.body as Record<string, unknown>;
  check(!Object.hasOwn(paymentBody, 'id'), `payment body has an id: ${payment.rawBody}`);
  const paymentToken = payment.query['paymentToken'];
  check(
    typeof paymentToken === 'string' && /^[0-9a-f]{64}$/.test(paymentToken),
    `payment has no hex paymentToken query: ${payment.path}`,
  );
  const expectedToken = createHmac('sha256', PRIVATE_KEY).update(payment.rawBody).digest('hex');
  check(
    paymentToken === expectedToken,
    `paymentToken is ${paymentToken}, expected HMAC-SHA256 of the body: ${expectedToken}`,
  );
  check(
    payment.path === `${PAYMENT_ENDPOINT}?paymentToken=${expectedToken}`,
    `payment path is ${payment.path}, expected ${PAYMENT_ENDPOINT}?paymentToken=${expectedToken}`,
  );
  check(
    String(payment.headers['content-type']).startsWith('application/json'),
    `payment content-type is ${String(payment.headers['content-type'])}`,
  );
  check(
    payment.status === 204,
    `stand-in answered the payment ${String(payment.status)}, expected 204`,
  );

  await checkout.addedToCart({
    customerKey: 'compat-customer-3',
    sessionKey: 'compat-session-3',
    id: 'compat-nest12-esm-0003',
    ticket: 'compat-ticket-3',
  });
  const received = await standIn.waitForRequests(2);
  const additions = standIn.requestsOf('adding-to-cart');
  check(
    additions.length === 1 && received.length === 2,
    `stand-in received ${received.length} requests (${additions.length} adding to cart), expected 1 payment and 1 adding to cart`,
  );
  const [addition] = additions;
  check(addition, 'no adding to cart recorded');
  check(
    addition.kind === 'adding-to-cart',
    `adding to cart recorded as kind ${String(addition.kind)}`,
  );
  check(
    addition.path === ADDING_TO_CART_ENDPOINT,
    `adding to cart path is ${addition.path}, expected ${ADDING_TO_CART_ENDPOINT}`,
  );
  const fields = Object.keys(addition.body as Record<string, unknown>).join(', ');
  check(
    fields === 'market, customerKey, sessionKey, id, ticket',
    `adding to cart body fields are ${fields}, expected market, customerKey, sessionKey, id, ticket`,
  );
  const expectedAdditionBody =
    '{"market":"UK","customerKey":"compat-customer-3","sessionKey":"compat-session-3",' +
    '"id":"compat-nest12-esm-0003","ticket":"compat-ticket-3"}';
  check(
    addition.rawBody === expectedAdditionBody,
    `adding to cart body is ${JSON.stringify(addition.rawBody)}, expected ${JSON.stringify(expectedAdditionBody)}`,
  );
  check(
    addition.status === 204,
    `stand-in answered the adding to cart ${String(addition.status)}, expected 204`,
  );
}

/** A tracked redirect route: the click is queued once the redirect succeeded. */
@Controller('products')
class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: 'productKey', variantKey: { query: 'variant' } })
  redirect(@Param('productKey') productKey: string): { url: string } {
    return { url: `/p/${encodeURIComponent(productKey)}` };
  }
}

/** Sign-in setting the signed-in Apptus cookies through the package's service. */
@Controller('account')
class AccountController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  @Post('sign-in')
  @HttpCode(204)
  signIn(@Res({ passthrough: true }) response: unknown): void {
    this.visitorCookies.signIn(response, VISITOR_ID);
  }
}

@Module({})
class HttpAppModule {
  static register(clusterUrl: string): DynamicModule {
    return {
      module: HttpAppModule,
      imports: [
        EsalesModule.forRoot({
          clusterUrl,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
          privateKey: PRIVATE_KEY,
        }),
      ],
      controllers: [ProductsController, AccountController],
    };
  }
}

interface Visit {
  status: number;
  location: string | null;
  /** Set-Cookie lines. */
  setCookies: string[];
  /** Name to (raw) value of each Set-Cookie line. */
  cookies: Map<string, string>;
}

async function visit(url: string, method = 'GET', cookie?: string): Promise<Visit> {
  const response = await fetch(url, {
    method,
    redirect: 'manual',
    headers: { 'user-agent': BROWSER_UA, ...(cookie ? { cookie } : {}) },
  });
  await response.arrayBuffer();
  const setCookies = response.headers.getSetCookie();
  const cookies = new Map<string, string>();
  for (const line of setCookies) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return {
    status: response.status,
    location: response.headers.get('location'),
    setCookies,
    cookies,
  };
}

/** Click tracking over HTTP: a redirect route tracked with `@TrackNonEsalesClick()`, and sign-in. */
async function checkClickTracking(standIn: ElevateStandIn): Promise<void> {
  standIn.clear();
  let httpApp: INestApplication | undefined;
  try {
    httpApp = await NestFactory.create(HttpAppModule.register(standIn.url), {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    await httpApp.listen(0, '127.0.0.1');
    const base = await httpApp.getUrl();
    check(base.startsWith('http://127.0.0.1:'), `app url is ${base}`);
    const service = httpApp.get(EsalesNotificationService);

    // An anonymous visitor without Apptus cookies: redirected at once, given fresh ids as cookies.
    const click = await visit(`${base}/products/P-3/redirect?variant=V-3`);
    check(click.status === 302, `tracked redirect answered ${click.status}, expected 302`);
    check(click.location === '/p/P-3', `tracked redirect location is ${String(click.location)}`);
    const customerKey = click.cookies.get('apptus.customerKey');
    const sessionKey = click.cookies.get('apptus.sessionKey');
    check(
      customerKey !== undefined && UUID.test(customerKey),
      `Set-Cookie has no apptus.customerKey UUID: ${JSON.stringify(click.setCookies)}`,
    );
    check(
      sessionKey !== undefined && UUID.test(sessionKey),
      `Set-Cookie has no apptus.sessionKey UUID: ${JSON.stringify(click.setCookies)}`,
    );
    check(await service.flush(5_000), 'flush() did not finish within 5 s');
    check(
      standIn.requests.length === 1,
      `stand-in received ${standIn.requests.length} requests after the click, expected 1`,
    );
    const [clickRequest] = standIn.requests;
    check(clickRequest, 'no click notification recorded');
    check(clickRequest.path === ENDPOINT, `click notification path is ${clickRequest.path}`);
    const clickBody = clickRequest.body as Record<string, unknown>;
    const expectedClick = {
      market: 'UK',
      customerKey,
      sessionKey,
      productKey: 'P-3',
      variantKey: 'V-3',
    };
    for (const [field, value] of Object.entries(expectedClick)) {
      check(
        clickBody[field] === value,
        `click notification ${field} is ${JSON.stringify(clickBody[field])}, expected ${JSON.stringify(value)} (body ${clickRequest.rawBody})`,
      );
    }
    check(
      clickRequest.status === 204,
      `stand-in answered the click ${String(clickRequest.status)}, expected 204`,
    );

    // Sign-in sets the signed-in customer key and token; the next click sends them, and Elevate
    // (the stand-in, with the same private key) accepts the token.
    const expected = new CustomerKeyAuthentication(PRIVATE_KEY, VISITOR_ID);
    const signIn = await visit(`${base}/account/sign-in`, 'POST');
    check(signIn.status === 204, `sign-in answered ${signIn.status}, expected 204`);
    check(
      signIn.cookies.get('apptus.customerKey') === expected.customerKey &&
        signIn.cookies.get('apptus.token') === expected.token,
      `sign-in Set-Cookie is ${JSON.stringify(signIn.setCookies)}, expected the signed-in customer key and token`,
    );
    const signedInClick = await visit(
      `${base}/products/P-4/redirect`,
      'GET',
      `apptus.sessionKey=${sessionKey}; apptus.customerKey=${expected.customerKey}; apptus.token=${expected.token}`,
    );
    check(
      signedInClick.status === 302,
      `signed-in redirect answered ${signedInClick.status}, expected 302`,
    );
    check(
      signedInClick.setCookies.length === 0,
      `signed-in redirect set cookies: ${JSON.stringify(signedInClick.setCookies)}`,
    );
    check(await service.flush(5_000), 'flush() did not finish within 5 s');
    const [, signedInRequest] = standIn.requests;
    check(signedInRequest, `stand-in received ${standIn.requests.length} requests, expected 2`);
    const signedInBody = signedInRequest.body as Record<string, unknown>;
    const expectedSignedIn = {
      customerKey: expected.customerKey,
      sessionKey,
      token: expected.token,
      productKey: 'P-4',
      variantKey: null,
    };
    for (const [field, value] of Object.entries(expectedSignedIn)) {
      check(
        signedInBody[field] === value,
        `signed-in click ${field} is ${JSON.stringify(signedInBody[field])}, expected ${JSON.stringify(value)}`,
      );
    }
    check(
      signedInRequest.status === 204,
      `stand-in answered the signed-in click ${String(signedInRequest.status)}, expected 204`,
    );
    const stats = service.getStats();
    check(
      stats.enqueued === 2 && stats.sent === 2 && stats.skipped === 0,
      `stats are ${JSON.stringify(stats)}, expected 2 enqueued and sent, none skipped`,
    );
  } finally {
    await httpApp?.close();
  }
}

/** The same app configured through `nestjs-esales/config` and @nestjs/config from `ESALES_*` env. */
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    EsalesModule.forRootAsync(esalesConfig.asProvider()),
  ],
  providers: [ClickTracker],
})
class ConfigAppModule {}

async function main(): Promise<void> {
  let standIn: ElevateStandIn | undefined;
  let app: INestApplicationContext | undefined;
  let configApp: INestApplicationContext | undefined;
  try {
    standIn = await ElevateStandIn.start({ host: '127.0.0.1', privateKey: PRIVATE_KEY });
    check(standIn.url.startsWith('http://127.0.0.1:'), `stand-in url is ${standIn.url}`);
    app = await NestFactory.createApplicationContext(AppModule.register(standIn.url), {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    const tracker = app.get(ClickTracker);
    check(tracker instanceof ClickTracker, 'app.get(ClickTracker) did not return a ClickTracker');

    await tracker.productClicked({
      customerKey: 'compat-customer-1',
      sessionKey: 'compat-session-1',
      id: 'compat-nest12-esm-0001',
      productKey: 'P-1',
      variantKey: 'V-1',
    });
    const requests: StandInRequest[] = await standIn.waitForRequests(1);
    check(requests.length === 1, `stand-in received ${requests.length} requests, expected 1`);
    const [request] = requests;
    check(request, 'no request recorded');
    check(request.method === 'POST', `method is ${request.method}, expected POST`);
    check(request.path === ENDPOINT, `path is ${request.path}, expected ${ENDPOINT}`);
    const expectedBody =
      '{"market":"UK","customerKey":"compat-customer-1","sessionKey":"compat-session-1",' +
      '"id":"compat-nest12-esm-0001","productKey":"P-1","variantKey":"V-1"}';
    check(
      request.rawBody === expectedBody,
      `body is ${JSON.stringify(request.rawBody)}, expected ${JSON.stringify(expectedBody)}`,
    );
    check(
      String(request.headers['content-type']).startsWith('application/json'),
      `content-type is ${String(request.headers['content-type'])}`,
    );
    check(request.status === 204, `stand-in answered ${String(request.status)}, expected 204`);

    // Missing productKey and variantKey: rejected before any I/O.
    const invalid: NonEsalesClickNotification = {
      customerKey: 'compat-customer-1',
      sessionKey: 'compat-session-1',
    };
    let rejection: unknown;
    try {
      await tracker.productClicked(invalid);
    } catch (error) {
      rejection = error;
    }
    check(
      rejection !== undefined,
      'an invalid notification resolved, expected EsalesValidationError',
    );
    check(
      rejection instanceof EsalesValidationError,
      `an invalid notification rejected with ${String(rejection)}, expected EsalesValidationError`,
    );
    check(rejection instanceof EsalesError, 'EsalesValidationError is not an EsalesError');
    check(
      rejection.fields.includes('productKey'),
      `validation fields are ${rejection.fields.join(', ')}`,
    );
    check(
      standIn.requests.length === 1,
      `stand-in received ${standIn.requests.length} requests, expected still 1`,
    );

    await checkPaymentAndAddingToCart(standIn, app);

    await checkClickTracking(standIn);

    // nestjs-esales/config with @nestjs/config: options from the ESALES_* environment.
    standIn.clear();
    process.env['ESALES_CLUSTER_URL'] = standIn.url;
    process.env['ESALES_ALLOW_INSECURE_CLUSTER_URL'] = 'true';
    process.env['ESALES_DEFAULT_MARKET'] = 'Sweden';
    configApp = await NestFactory.createApplicationContext(ConfigAppModule, {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    await configApp.get(ClickTracker).productClicked({
      customerKey: 'compat-customer-2',
      sessionKey: 'compat-session-2',
      id: 'compat-nest12-esm-0002',
      productKey: 'P-2',
      variantKey: 'V-2',
    });
    const [configRequest] = await standIn.waitForRequests(1);
    check(configRequest, 'no request recorded from the env-configured app');
    const expectedConfigBody =
      '{"market":"Sweden","customerKey":"compat-customer-2","sessionKey":"compat-session-2",' +
      '"id":"compat-nest12-esm-0002","productKey":"P-2","variantKey":"V-2"}';
    check(
      configRequest.rawBody === expectedConfigBody,
      `env-configured body is ${JSON.stringify(configRequest.rawBody)}, expected ${JSON.stringify(expectedConfigBody)}`,
    );
    check(
      configRequest.status === 204,
      `stand-in answered the env-configured app ${String(configRequest.status)}, expected 204`,
    );
    await configApp.close();
    configApp = undefined;

    // A malformed ESALES_* variable fails the boot with EsalesConfigError naming it. Nest logs the failed
    // boot at error level before rethrowing; that log is expected, so it is dropped (warnings still show).
    process.env['ESALES_ENABLED'] = 'maybe';
    const expectedErrorLog: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown, ...rest: unknown[]) => console.warn(message, ...rest),
    };
    let bootError: unknown;
    try {
      configApp = await NestFactory.createApplicationContext(ConfigAppModule, {
        logger: expectedErrorLog,
        abortOnError: false,
      });
    } catch (error) {
      bootError = error;
    }
    check(
      bootError !== undefined,
      'booting with ESALES_ENABLED=maybe succeeded, expected it to fail',
    );
    check(
      bootError instanceof EsalesConfigError,
      `booting with ESALES_ENABLED=maybe failed with ${String(bootError)}, expected EsalesConfigError`,
    );
    check(
      bootError.message.includes('ESALES_ENABLED'),
      `EsalesConfigError message does not name ESALES_ENABLED: ${bootError.message}`,
    );
  } finally {
    await configApp?.close();
    await app?.close();
    await standIn?.close();
  }
}

main().then(
  () => {
    finished = true;
    // Let the process exit on its own; the watchdog fails it if open handles keep it alive.
    watchdog.unref();
    console.log(`${NAME}: ok`);
  },
  (error: unknown) => {
    console.error(
      `${NAME}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
