// The Nest 11 starter's own e2e set-up (Jest 29, ts-jest, CommonJS, its test/jest-e2e.json): a spec
// that imports nestjs-esales must load it with no transformIgnorePatterns or allowJs, and see a
// tracked redirect reach the stand-in.
import { Controller, Get, type INestApplication, Module, Param, Redirect } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EsalesModule, EsalesNotificationService, TrackNonEsalesClick } from 'nestjs-esales';
import { ElevateStandIn } from 'nestjs-esales/testing';
import request from 'supertest';

@Controller('products')
class ProductsController {
  @Get(':productKey/redirect')
  @Redirect()
  @TrackNonEsalesClick({ productKey: 'productKey' })
  redirect(@Param('productKey') productKey: string) {
    return { url: `/p/${productKey}` };
  }
}

// A feature module of its own: EsalesModule is registered once, in the root module only.
@Module({ controllers: [ProductsController] })
class ProductsModule {}

describe('a tracked redirect (e2e)', () => {
  let app: INestApplication;
  let standIn: ElevateStandIn;

  beforeAll(async () => {
    standIn = await ElevateStandIn.start();
    const moduleRef = await Test.createTestingModule({
      imports: [
        EsalesModule.forRoot({
          clusterUrl: standIn.url,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
        }),
        ProductsModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    await standIn.close();
  });

  it('redirects and sends the click', async () => {
    await request(app.getHttpServer())
      .get('/products/shirt_79709/redirect')
      .set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36')
      .expect(302);
    const [received] = await standIn.waitForRequests(1);
    expect(received?.body).toMatchObject({ market: 'UK', productKey: 'shirt_79709' });
    const esales = app.get(EsalesNotificationService);
    expect(await esales.flush()).toBe(true);
    expect(esales.getStats().sent).toBe(1);
  });
});
