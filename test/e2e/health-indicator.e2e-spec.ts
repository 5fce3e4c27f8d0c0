import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { EsalesHealthIndicator } from '../../lib/terminus.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { CaptureLogger } from '../support/capture-logger.js';

const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly esales: EsalesHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.esales.isHealthy('esales')]);
  }
}

interface Health {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
}

describe('EsalesHealthIndicator on a real /health route', () => {
  let app: INestApplication | undefined;
  let standIn: ElevateStandIn | undefined;

  afterEach(async () => {
    await app?.close();
    await standIn?.close();
    app = standIn = undefined;
  });

  async function start(clusterUrl: string, options: Record<string, number> = {}) {
    @Module({
      imports: [
        TerminusModule,
        EsalesModule.forRoot({
          clusterUrl,
          allowInsecureClusterUrl: true,
          defaultMarket: 'UK',
          shutdownTimeoutMs: 0,
          ...options,
        }),
      ],
      controllers: [HealthController],
      providers: [EsalesHealthIndicator],
    })
    class HealthAppModule {}
    app = await NestFactory.create(HealthAppModule, { logger: new CaptureLogger() });
    await app.listen(0, '127.0.0.1');
    const url = `${await app.getUrl()}/health`.replace('[::1]', '127.0.0.1');
    const health = async (): Promise<{ status: number; body: Health }> => {
      const response = await fetch(url);
      return { status: response.status, body: (await response.json()) as Health };
    };
    return { service: app.get(EsalesNotificationService), health };
  }

  it('is up, with the queue counters, while Elevate answers', async () => {
    standIn = await ElevateStandIn.start();
    const { service, health } = await start(standIn.url);
    await service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' });
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.info?.['esales']).toEqual({
      status: 'up',
      breaker: 'closed',
      queued: 0,
      retrying: 0,
      maxQueueSize: 10_000,
      inFlight: 0,
      // The adaptive limit starts at twice minConcurrency; one notification teaches it nothing.
      concurrencyLimit: 32,
      latencyBaselineMs: null,
      dropped: 0,
      expired: 0,
      failed: 0,
    });
  });

  it('is down (503) while the circuit breaker is open', async () => {
    const down = await ElevateStandIn.start();
    const url = down.url;
    await down.close();
    const { service, health } = await start(url, {
      maxAttempts: 1,
      breakerThreshold: 2,
      breakerCooldownMs: 60_000,
    });
    for (let i = 0; i < 2; i++) {
      await service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }).catch(() => undefined);
    }
    expect(service.getStats().breaker).toBe('open');
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.error?.['esales']).toMatchObject({ status: 'down', breaker: 'open' });
  });

  it('is down (503) while the queue is more than 90% full', async () => {
    standIn = await ElevateStandIn.start();
    standIn.respondWith(() => 'hang');
    const { service, health } = await start(standIn.url, { maxQueueSize: 10, concurrency: 1 });
    for (let i = 0; i < 9; i++) service.enqueueNonEsalesClick({ ...VISITOR, productKey: `p${i}` });
    expect((await health()).status).toBe(200);
    service.enqueueNonEsalesClick({ ...VISITOR, productKey: 'p9' });
    service.enqueueNonEsalesClick({ ...VISITOR, productKey: 'p10' });
    // One of the eleven is in flight (concurrency 1), ten are queued.
    await standIn.waitForRequests(1);
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.error?.['esales']).toMatchObject({ status: 'down', queued: 10, maxQueueSize: 10 });
  });
});
