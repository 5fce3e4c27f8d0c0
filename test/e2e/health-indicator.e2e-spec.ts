import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { EsalesHealthIndicator } from '../../lib/terminus.js';
import { testApp, type TestApp } from '../support/test-app.js';

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
  let t: TestApp | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function start(options: Record<string, number> = {}) {
    t = await testApp({
      platform: 'express',
      moduleDefaults: true,
      options: { shutdownTimeoutMs: 0, ...options },
      imports: [TerminusModule],
      controllers: [HealthController],
      providers: [EsalesHealthIndicator],
    });
    const url = `${t.url}/health`;
    const health = async (): Promise<{ status: number; body: Health }> => {
      const response = await fetch(url);
      return { status: response.status, body: (await response.json()) as Health };
    };
    return { standIn: t.standIn, service: t.service, health };
  }

  it('is up, with the queue counters, while Elevate answers', async () => {
    const { service, health } = await start();
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
      delivery: 'memory',
    });
  });

  it('is down (503) while the circuit breaker is open', async () => {
    const { standIn, service, health } = await start({
      maxAttempts: 1,
      breakerThreshold: 2,
      breakerCooldownMs: 60_000,
    });
    // The cluster goes away before the first notification: nothing listens on its port.
    await standIn.close();
    for (let i = 0; i < 2; i++) {
      await service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }).catch(() => undefined);
    }
    expect(service.getStats().breaker).toBe('open');
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.error?.['esales']).toMatchObject({ status: 'down', breaker: 'open' });
  });

  it('is down (503) while the queue is more than 90% full', async () => {
    const { standIn, service, health } = await start({ maxQueueSize: 10, concurrency: 1 });
    standIn.respondWith(() => 'hang');
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
