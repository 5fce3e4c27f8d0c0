// The Nest 11 starter's own e2e set-up (Jest 29, ts-jest, CommonJS, its test/jest-e2e.json): a spec
// that imports nestjs-esales must load it with no transformIgnorePatterns or allowJs, see a tracked
// redirect reach the stand-in, and send a signed payment and an adding to cart from a controller of
// its own.
import { createHmac } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Param,
  Post,
  Redirect,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AddingToCartNotificationDto,
  EsalesModule,
  EsalesNotificationService,
  TrackNonEsalesClick,
  type PaymentNotification,
} from 'nestjs-esales';
import { ElevateStandIn } from 'nestjs-esales/testing';
import request from 'supertest';

const PRIVATE_KEY = 'compat-private-key';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36';

@Controller('products')
class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: 'productKey' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

/** What the shop's checkout route receives. */
interface CheckoutRequest extends PaymentNotification {
  orderId: string;
}

/**
 * The shop's cart and checkout routes, in the root module (EsalesModule is not global), sending
 * through the package's service injected by type (ts-jest's emitted design:paramtypes). The cart
 * route's body is typed with the package's DTO class, so the class is loaded at runtime too.
 */
@Controller()
class CheckoutController {
  constructor(private readonly esales: EsalesNotificationService) {}

  @Post('cart')
  @HttpCode(204)
  async addToCart(@Body() body: AddingToCartNotificationDto): Promise<void> {
    await this.esales.sendAddingToCart({
      customerKey: body.customerKey,
      sessionKey: body.sessionKey,
      id: body.id,
      ticket: body.ticket,
    });
  }

  @Post('checkout')
  @HttpCode(204)
  async checkout(@Body() { orderId, ...payment }: CheckoutRequest): Promise<void> {
    await this.esales.sendPayment(payment, { dedupeKey: orderId });
  }
}

// A feature module of its own: EsalesModule is registered once, in the root module only.
@Module({ controllers: [ProductsController] })
class ProductsModule {}

describe('a tracked redirect, a payment and an adding to cart (e2e)', () => {
  let app: INestApplication;
  let standIn: ElevateStandIn;

  beforeAll(async () => {
    // The stand-in validates the payment's paymentToken with the same private key.
    standIn = await ElevateStandIn.start({ privateKey: PRIVATE_KEY });
    const moduleRef = await Test.createTestingModule({
      imports: [
        EsalesModule.forRoot({
          clusterUrl: standIn.url,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
          privateKey: PRIVATE_KEY,
        }),
        ProductsModule,
      ],
      controllers: [CheckoutController],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  beforeEach(() => standIn.clear());

  afterAll(async () => {
    // Optional chaining: a failed beforeAll must not leave the stand-in open (Jest would not exit).
    await app?.close();
    await standIn?.close();
  });

  it('redirects and sends the click', async () => {
    await request(app.getHttpServer())
      .get('/products/shirt_79709/redirect')
      .set('User-Agent', BROWSER_UA)
      .expect(302);
    const [received] = await standIn.waitForRequests(1);
    expect(received?.body).toMatchObject({ market: 'UK', productKey: 'shirt_79709' });
    const esales = app.get(EsalesNotificationService);
    expect(await esales.flush()).toBe(true);
    expect(esales.getStats().sent).toBe(1);
  });

  it('sends a signed payment, without an id', async () => {
    await request(app.getHttpServer())
      .post('/checkout')
      .send({
        orderId: 'compat-nest11-cjs-order-e2e',
        customerKey: 'compat-customer-e2e',
        sessionKey: 'compat-session-e2e',
        lines: [{ productKey: 'shirt_79709', quantity: 1, sellingPrice: 100 }],
      })
      .expect(204);
    await standIn.waitForRequests(1);
    expect(standIn.requests).toHaveLength(1);
    const payments = standIn.requestsOf('payment');
    expect(payments).toHaveLength(1);
    const [payment] = payments;
    expect(payment?.kind).toBe('payment');
    expect(payment?.rawBody).toBe(
      '{"market":"UK","customerKey":"compat-customer-e2e","sessionKey":"compat-session-e2e",' +
        '"lines":[{"productKey":"shirt_79709","variantKey":null,"quantity":1,"sellingPrice":100}]}',
    );
    expect(payment?.body).not.toHaveProperty('id');
    const expectedToken = createHmac('sha256', PRIVATE_KEY)
      .update(payment?.rawBody ?? '')
      .digest('hex');
    expect(payment?.query).toEqual({ paymentToken: expectedToken });
    expect(payment?.path).toBe(`/api/v1/notifications/payment?paymentToken=${expectedToken}`);
    // The stand-in checks the token too: 403 when it does not validate.
    expect(payment?.status).toBe(204);
  });

  it('sends an adding to cart', async () => {
    await request(app.getHttpServer())
      .post('/cart')
      .send({
        customerKey: 'compat-customer-e2e',
        sessionKey: 'compat-session-e2e',
        id: 'compat-nest11-cjs-e2e-cart',
        ticket: 'compat-ticket-e2e',
      })
      .expect(204);
    await standIn.waitForRequests(1);
    expect(standIn.requests).toHaveLength(1);
    const additions = standIn.requestsOf('adding-to-cart');
    expect(additions).toHaveLength(1);
    const [addition] = additions;
    expect(addition?.kind).toBe('adding-to-cart');
    expect(addition?.path).toBe('/api/v1/notifications/adding-to-cart');
    expect(Object.keys(addition?.body as object)).toEqual([
      'market',
      'customerKey',
      'sessionKey',
      'id',
      'ticket',
    ]);
    expect(addition?.rawBody).toBe(
      '{"market":"UK","customerKey":"compat-customer-e2e","sessionKey":"compat-session-e2e",' +
        '"id":"compat-nest11-cjs-e2e-cart","ticket":"compat-ticket-e2e"}',
    );
    expect(addition?.status).toBe(204);
  });
});
