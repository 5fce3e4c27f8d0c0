import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CustomerKeyAuthenticationService } from '../../lib/auth/customer-key-authentication.service.js';
import type { EsalesTransportName } from '../../lib/config/esales-options.interface.js';
import { isRetryableNetworkCode } from '../../lib/delivery/retry-rules.js';
import { ESALES_RESOLVED_OPTIONS, ESALES_TRANSPORT } from '../../lib/esales.constants.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesBadRequestError } from '../../lib/errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from '../../lib/errors/esales-customer-key-rejected.error.js';
import { EsalesError } from '../../lib/errors/esales.error.js';
import { EsalesNetworkError } from '../../lib/errors/esales-network.error.js';
import { EsalesServerError } from '../../lib/errors/esales-server.error.js';
import { EsalesTimeoutError } from '../../lib/errors/esales-timeout.error.js';
import { EsalesUnknownMarketError } from '../../lib/errors/esales-unknown-market.error.js';
import { EsalesValidationError } from '../../lib/errors/esales-validation.error.js';
import type { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { AxiosEsalesTransport } from '../../lib/transport/axios.transport.js';
import { UndiciEsalesTransport } from '../../lib/transport/undici.transport.js';
import { boot } from '../support/boot.js';
import { testApp, type TestApp } from '../support/test-app.js';

const PRIVATE_KEY = 'stand-in-private-key';
const PATH = '/api/v1/notifications/non-esales-click';
const SEED_BODY = readFileSync(
  new URL('../fixtures/seed-request-body.json', import.meta.url),
  'utf8',
);
const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};

// One attempt, no breaker, and a Retry-After hold of at most 10 ms: a 503 with `Retry-After: 3`
// must not hold back the next test's notification for three seconds (which, on a machine that
// stalls, can outlast its delivery budget).
const SINGLE_ATTEMPT = {
  maxAttempts: 1,
  breakerThreshold: 10_000,
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 10,
  breakerCooldownMs: 10,
} as const;
const TRANSPORTS: readonly EsalesTransportName[] = ['undici', 'axios'];

/** Polls until the stand-in sees no open connection (at most 3 s), and returns how many are left. */
async function connectionsAfterClose(standIn: ElevateStandIn): Promise<number> {
  for (let polls = 0; (await standIn.openConnections()) > 0 && polls < 300; polls++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return standIn.openConnections();
}

// Every test runs once per transport: both must behave the same to the service and its callers.
describe.each(TRANSPORTS)('with the %s transport', (transport) => {
  /** Every error the suite saw, checked for secrets at the end. */
  const seen: EsalesError[] = [];

  const rejection = async (promise: Promise<unknown>): Promise<EsalesError> => {
    try {
      await promise;
    } catch (error) {
      if (error instanceof EsalesError) {
        seen.push(error);
        return error;
      }
      throw error;
    }
    throw new Error('expected the promise to reject');
  };

  describe('EsalesNotificationService.sendNonEsalesClick against a local Elevate stand-in', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await testApp({
        moduleDefaults: true,
        options: {
          privateKey: PRIVATE_KEY,
          markets: { UK: {}, Sweden: {} },
          transport,
          // One attempt and no breaker: this suite is about how a single answer maps to an outcome.
          // Retries and the breaker are covered in delivery.e2e-spec.ts.
          ...SINGLE_ATTEMPT,
        },
      });
    });

    afterAll(() => t.close());

    beforeEach(() => t.standIn.clear());
    afterEach(() => t.standIn.respondWith());

    it("sends the seed page's example request byte for byte", async () => {
      const seed = JSON.parse(SEED_BODY) as Record<string, string | null>;
      await t.service.sendNonEsalesClick({
        market: seed['market'] as string,
        customerKey: seed['customerKey'] as string,
        sessionKey: seed['sessionKey'] as string,
        id: seed['id'] as string,
        productKey: seed['productKey'],
        variantKey: seed['variantKey'],
      });
      const [request] = t.standIn.requests;
      expect(t.standIn.requests).toHaveLength(1);
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe(PATH);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.rawBody).toBe(JSON.stringify(JSON.parse(SEED_BODY)));
      expect(request?.status).toBe(204);
    });

    it('sends a variant-only click with productKey null, which Elevate accepts', async () => {
      await t.service.sendNonEsalesClick({ ...VISITOR, variantKey: '79709_grey_medium' });
      expect(t.standIn.requests[0]?.body).toMatchObject({
        productKey: null,
        variantKey: '79709_grey_medium',
      });
      expect(t.standIn.requests[0]?.status).toBe(204);
    });

    it('sends a signed-in visitor with the token Elevate validates', async () => {
      const auth = t.app.get(CustomerKeyAuthenticationService).forVisitor('internal-user-7');
      await t.service.sendNonEsalesClick({
        customerKey: auth.customerKey,
        sessionKey: VISITOR.sessionKey,
        token: auth.token,
        productKey: 'shirt_79709',
      });
      expect(t.standIn.requests[0]?.body).toMatchObject({
        customerKey: auth.customerKey,
        token: auth.token,
      });
      expect(t.standIn.requests[0]?.status).toBe(204);
    });

    it('reuses one keep-alive connection', async () => {
      await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'a' });
      await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'b' });
      const [first, second] = t.standIn.requests;
      expect(first?.remotePort).toBeDefined();
      expect(second?.remotePort).toBe(first?.remotePort);
    });

    it('resolves on any 2xx', async () => {
      t.standIn.respondWith(() => ({ status: 200, body: 'ok' }));
      await expect(
        t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
      ).resolves.toBeUndefined();
    });

    it('maps 400 to EsalesBadRequestError with the context fields', async () => {
      t.standIn.respondWith(() => ({ status: 400, body: 'Product key is missing.' }));
      const error = await rejection(
        t.service.sendNonEsalesClick({
          ...VISITOR,
          id: 'n-400',
          market: 'Sweden',
          productKey: 'p',
        }),
      );
      expect(error).toBeInstanceOf(EsalesBadRequestError);
      expect(error).toMatchObject({
        name: 'EsalesBadRequestError',
        status: 400,
        market: 'Sweden',
        endpoint: `${t.standIn.url}${PATH}`,
        notificationId: 'n-400',
        bodyExcerpt: 'Product key is missing.',
      });
    });

    it("maps Elevate's 403 for a token that does not validate to EsalesCustomerKeyRejectedError", async () => {
      const forged = 'f'.repeat(64);
      const error = await rejection(
        t.service.sendNonEsalesClick({
          ...VISITOR,
          customerKey: 'a'.repeat(64),
          token: forged,
          productKey: 'p',
        }),
      );
      expect(t.standIn.requests[0]?.status).toBe(403);
      expect(error).toBeInstanceOf(EsalesCustomerKeyRejectedError);
      expect(error).toMatchObject({ status: 403, market: 'UK' });
      expect(error.message).not.toContain(forged);
    });

    it('maps 5xx to EsalesServerError with the status and a bounded, token-free excerpt', async () => {
      const token = 'e'.repeat(64);
      t.standIn.respondWith(() => ({
        status: 503,
        body: `Cluster busy, echoing ${token} ${'x'.repeat(10_000)}`,
        headers: { 'Retry-After': '3' },
      }));
      const error = await rejection(
        t.service.sendNonEsalesClick({ ...VISITOR, token, productKey: 'p' }),
      );
      expect(error).toBeInstanceOf(EsalesServerError);
      const serverError = error as EsalesServerError;
      expect(serverError.status).toBe(503);
      expect(serverError.retryAfter).toBe('3');
      expect(serverError.bodyExcerpt.startsWith('Cluster busy, echoing [token]')).toBe(true);
      expect(serverError.bodyExcerpt.length).toBeLessThanOrEqual(513);
      expect(serverError.message).not.toContain(token);
      expect(serverError.message).toContain('503');
    });

    it('maps an unexpected status to EsalesServerError too', async () => {
      t.standIn.respondWith(() => ({ status: 404, body: 'Not Found' }));
      const error = await rejection(t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }));
      expect(error).toBeInstanceOf(EsalesServerError);
      expect(error.status).toBe(404);
    });

    it('maps a reset connection to EsalesNetworkError', async () => {
      t.standIn.respondWith(() => 'reset');
      const error = await rejection(t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }));
      expect(error).toBeInstanceOf(EsalesNetworkError);
      // axios reports Node's "socket hang up" (ECONNRESET); undici its own "other side closed"
      // (UND_ERR_SOCKET), or ECONNRESET when the reset arrives first. Either way it is retried.
      const { code } = error as EsalesNetworkError;
      expect(code).toMatch(/ECONNRESET|socket hang up|ERR_NETWORK|UND_ERR_SOCKET/);
      expect(isRetryableNetworkCode(code)).toBe(true);
    });

    it('rejects an invalid notification with EsalesValidationError before any I/O', async () => {
      const error = await rejection(
        t.service.sendNonEsalesClick({ ...VISITOR, sessionKey: '', token: 'not-hex' }),
      );
      expect(error).toBeInstanceOf(EsalesValidationError);
      expect((error as EsalesValidationError).fields.sort()).toEqual([
        'productKey',
        'sessionKey',
        'token',
      ]);
      expect(error.message).toContain('Product key is missing.');
      expect(error.message).not.toContain('not-hex');
      expect(t.standIn.requests).toHaveLength(0);
    });

    it('rejects a market outside `markets` before any I/O', async () => {
      const error = await rejection(
        t.service.sendNonEsalesClick({ ...VISITOR, market: 'Norway', productKey: 'p' }),
      );
      expect(error).toBeInstanceOf(EsalesUnknownMarketError);
      expect(error).toBeInstanceOf(EsalesValidationError);
      expect(error.market).toBe('Norway');
      expect(t.standIn.requests).toHaveLength(0);
    });

    it('answers a large error page with its status, reading only the start of it', async () => {
      t.standIn.respondWith(() => ({
        status: 503,
        body: `<html>${'busy '.repeat(14_000)}</html>`,
      }));
      const error = await rejection(t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }));
      expect(error).toBeInstanceOf(EsalesServerError);
      expect(error.status).toBe(503);
      expect((error as EsalesServerError).bodyExcerpt.startsWith('<html>busy busy')).toBe(true);
    });

    describe('with a short requestTimeoutMs', () => {
      let short: TestApp;
      beforeAll(async () => {
        short = await testApp({
          standIn: t.standIn,
          moduleDefaults: true,
          options: { requestTimeoutMs: 300, transport, ...SINGLE_ATTEMPT },
        });
      });
      afterAll(() => short.close());

      it('gives up on a cluster that never answers with EsalesTimeoutError', async () => {
        t.standIn.respondWith(() => 'hang');
        const error = await rejection(
          short.service.sendNonEsalesClick({ ...VISITOR, id: 'n-slow', productKey: 'p' }),
        );
        expect(error).toBeInstanceOf(EsalesTimeoutError);
        expect(error).toMatchObject({ timeoutMs: 300, notificationId: 'n-slow', market: 'UK' });
        expect(error.status).toBeUndefined();
      });

      it('gives up on a cluster that answers too slowly with EsalesTimeoutError', async () => {
        t.standIn.respondWith(() => ({ status: 204, delayMs: 1_500 }));
        await expect(
          short.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
        ).rejects.toBeInstanceOf(EsalesTimeoutError);
      });
    });

    // Runs last: every error the suite provoked, and every log line, checked for secrets.
    it('never puts the private key or a token into a log line, error message or inspected error', () => {
      const auth = t.app.get(CustomerKeyAuthenticationService).forVisitor('internal-user-7');
      const secrets = [PRIVATE_KEY, auth.token, 'f'.repeat(64), 'e'.repeat(64)];
      expect(seen.length).toBeGreaterThanOrEqual(8);
      const shown = [
        t.logs.text(),
        ...seen.flatMap((error) => [
          error.message,
          JSON.stringify(error),
          inspect(error, { depth: 5 }),
        ]),
        inspect(t.app.get(ESALES_RESOLVED_OPTIONS), { depth: 5, showHidden: true }),
      ].join('\n');
      for (const secret of secrets) expect(shown).not.toContain(secret);
    });
  });

  describe('EsalesModule shutdown', () => {
    it('closes its keep-alive connections when the app closes', async () => {
      const t = await testApp({ moduleDefaults: true, options: { transport } });
      try {
        await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' });
        expect(await t.standIn.openConnections()).toBe(1);
        await t.closeApp();
        expect(await connectionsAfterClose(t.standIn)).toBe(0);
      } finally {
        await t.close();
      }
    });
  });

  describe('EsalesNotificationService when the cluster is down', () => {
    it('rejects with EsalesNetworkError (ECONNREFUSED)', async () => {
      const t = await testApp({ moduleDefaults: true, options: { transport, ...SINGLE_ATTEMPT } });
      try {
        // The cluster goes away before the first notification: nothing listens on its port.
        await t.standIn.close();
        const error = await rejection(
          t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p' }),
        );
        expect(error).toBeInstanceOf(EsalesNetworkError);
        expect((error as EsalesNetworkError).code).toBe('ECONNREFUSED');
        expect(error.endpoint).toBe(`${t.standIn.url}${PATH}`);
      } finally {
        await t.close();
      }
    });
  });
});

describe('EsalesModule transport option', () => {
  it('uses undici by default, and releases its sockets when the app closes', async () => {
    const t = await testApp({ moduleDefaults: true });
    try {
      expect(t.app.get(ESALES_TRANSPORT)).toBeInstanceOf(UndiciEsalesTransport);
      await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'a' });
      await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'b' });
      // One keep-alive connection, reused.
      expect(await t.standIn.openConnections()).toBe(1);
      expect(t.standIn.requests[1]?.remotePort).toBe(t.standIn.requests[0]?.remotePort);

      const started = performance.now();
      await t.closeApp();
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(await connectionsAfterClose(t.standIn)).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("uses an AxiosEsalesTransport of the module's own with transport: 'axios'", async () => {
    const { app } = await boot([
      EsalesModule.forRoot({ clusterId: 'w1', defaultMarket: 'UK', transport: 'axios' }),
    ]);
    try {
      expect(app.get(ESALES_TRANSPORT)).toBeInstanceOf(AxiosEsalesTransport);
    } finally {
      await app.close();
    }
  });
});
