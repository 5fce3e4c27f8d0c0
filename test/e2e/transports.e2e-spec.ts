import { once } from 'node:events';
import { Agent as HttpAgent, createServer, type Server } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import axios, { type CreateAxiosDefaults } from 'axios';
import type { EsalesTransportName } from '../../lib/config/esales-options.interface.js';
import { isRetryableNetworkCode } from '../../lib/delivery/retry-rules.js';
import { EsalesModule } from '../../lib/esales.module.js';
import { EsalesNotificationService } from '../../lib/esales-notification.service.js';
import { NOTIFICATION_PATHS } from '../../lib/esales.constants.js';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { AxiosEsalesTransport } from '../../lib/transport/axios.transport.js';
import { createAxiosTransport } from '../../lib/transport/create-axios-transport.js';
import {
  EsalesTransportFailure,
  type EsalesTransport,
} from '../../lib/transport/esales-transport.interface.js';
import { UndiciEsalesTransport } from '../../lib/transport/undici.transport.js';
import { boot } from '../support/boot.js';

/*
 * The transports on their own, built without Nest, against real sockets on 127.0.0.1: what the
 * delivery engine relies on (status, a bounded body, Retry-After, a hard deadline, failures that
 * carry a code and nothing of the request).
 */

const TOKEN = 'a1'.repeat(32);
const BODY = JSON.stringify({
  market: 'UK',
  customerKey: 'c',
  sessionKey: 's',
  token: TOKEN,
  productKey: 'p',
});

const TRANSPORTS: Record<EsalesTransportName, () => EsalesTransport> = {
  undici: () => new UndiciEsalesTransport(),
  axios: () => new AxiosEsalesTransport(new HttpService(axios.create())),
};

/** Closers of what the current test opened, run (newest first) after it, even when it failed. */
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function standIn(): Promise<ElevateStandIn> {
  const started = await ElevateStandIn.start();
  closers.push(() => started.close());
  return started;
}

/** A plain server on loopback, for what the stand-in cannot do; closed (connections too) after the test. */
async function listen(server: Server | NetServer): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return (server.address() as AddressInfo).port;
}

/** The failure `promise` rejects with, and how long that took. */
async function failureOf(
  promise: Promise<unknown>,
): Promise<{ failure: EsalesTransportFailure; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EsalesTransportFailure);
    // Only a kind and a code: no request data (the body carries tokens).
    const shown = `${inspect(error, { depth: 5, showHidden: true })} ${JSON.stringify(error)}`;
    expect(shown).not.toContain(TOKEN);
    return { failure: error as EsalesTransportFailure, ms: performance.now() - started };
  }
  throw new Error('expected the send to fail');
}

const endpoint = (base: string): string => base + NOTIFICATION_PATHS.nonEsalesClick;

describe.each(Object.keys(TRANSPORTS) as EsalesTransportName[])('the %s transport', (name) => {
  const transport = (): EsalesTransport => {
    const made = TRANSPORTS[name]();
    closers.push(() => made.close?.());
    return made;
  };

  it('answers 204 with an empty body, over reused keep-alive connections', async () => {
    const cluster = await standIn();
    const client = transport();
    for (let i = 0; i < 10; i++) {
      expect(
        await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
      ).toEqual({ status: 204, body: '' });
    }
    const [first] = cluster.requests;
    expect(first?.rawBody).toBe(BODY);
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['accept']).toBe('*/*');
    // Ten sends, one after the other, over at most two connections: undici's pool may open a second
    // one when the next send comes before it has put the first connection back (in the same turn).
    expect(new Set(cluster.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('reads only the first 4 KiB of a large error body, as UTF-8', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => ({ status: 503, body: `<html>${'é'.repeat(100_000)}</html>` }));
    const client = transport();
    const response = await client.send({
      url: endpoint(cluster.url),
      body: BODY,
      timeoutMs: 2_000,
    });
    expect(response.status).toBe(503);
    // 6 bytes of `<html>`, then 2045 two-byte characters: 4096 bytes.
    expect(response.body).toBe(`<html>${'é'.repeat(2045)}`);
    // The rest was discarded without harm to the next request.
    cluster.respondWith();
    expect(
      await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
    ).toMatchObject({ status: 204 });
  });

  it('passes Retry-After through', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => ({
      status: 429,
      body: 'slow down',
      headers: { 'Retry-After': '7' },
    }));
    const response = await transport().send({
      url: endpoint(cluster.url),
      body: BODY,
      timeoutMs: 2_000,
    });
    expect(response).toEqual({ status: 429, body: 'slow down', retryAfter: '7' });
  });

  it('times out within timeoutMs on a cluster that never answers', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => 'hang');
    const { failure, ms } = await failureOf(
      transport().send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 300 }),
    );
    expect(failure.kind).toBe('timeout');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_500);
  });

  it('times out within timeoutMs on a body that stalls after the headers', async () => {
    const port = await listen(
      createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          response.writeHead(503, { 'Content-Length': '1000' });
          response.write('the first bytes, then nothing');
        });
      }),
    );
    const { failure, ms } = await failureOf(
      transport().send({ url: `http://127.0.0.1:${port}/`, body: BODY, timeoutMs: 300 }),
    );
    expect(failure.kind).toBe('timeout');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_500);
  });

  it('times out within timeoutMs while the TLS handshake never completes', async () => {
    // Accepts the TCP connection and says nothing: the deadline must cover connecting too.
    const port = await listen(createTcpServer(() => undefined));
    const { failure, ms } = await failureOf(
      transport().send({ url: `https://127.0.0.1:${port}/`, body: BODY, timeoutMs: 300 }),
    );
    expect(failure.kind).toBe('timeout');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_500);
  });

  it('fails with a retryable ECONNREFUSED when nothing listens', async () => {
    const cluster = await ElevateStandIn.start();
    await cluster.close();
    const { failure } = await failureOf(
      transport().send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
    );
    expect(failure).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    expect(isRetryableNetworkCode(failure.code)).toBe(true);
  });

  it('fails with a retryable network failure when the connection is reset', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => 'reset');
    const { failure } = await failureOf(
      transport().send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
    );
    expect(failure.kind).toBe('network');
    expect(failure.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
    expect(isRetryableNetworkCode(failure.code)).toBe(true);
  });

  it('closes its connections on close()', async () => {
    const cluster = await standIn();
    const client = transport();
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    expect(await cluster.openConnections()).toBe(1);
    await client.close?.();
    for (let polls = 0; (await cluster.openConnections()) > 0 && polls < 300; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await cluster.openConnections()).toBe(0);
  });
});

describe('the undici transport', () => {
  it('fails a request in flight at close(), and every send after it, with a network failure', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => 'hang');
    const client = new UndiciEsalesTransport();
    const inFlight = failureOf(
      client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 10_000 }),
    );
    await cluster.waitForRequests(1);

    const started = performance.now();
    await client.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    const { failure, ms } = await inFlight;
    expect(failure.kind).toBe('network');
    expect(ms).toBeLessThan(5_000);

    cluster.respondWith();
    const { failure: later } = await failureOf(
      client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
    );
    expect(later).toMatchObject({ kind: 'network', code: 'UND_ERR_DESTROYED' });
    // A closed transport stays closed: retrying would not help.
    expect(isRetryableNetworkCode(later.code)).toBe(false);
    expect(cluster.requests).toHaveLength(1);
  });

  it('tells whether a failed request was written: what decides whether a payment may be retried', async () => {
    const cluster = await standIn();
    cluster.respondWith(() => 'hang');
    // One connection: the second request waits for it, and its deadline passes before it is written.
    const client = new UndiciEsalesTransport({ connections: 1 });
    closers.push(() => client.close());
    const written = failureOf(
      client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 1_000 }),
    );
    await cluster.waitForRequests(1);
    const waiting = await failureOf(
      client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 100 }),
    );
    expect(waiting.failure).toMatchObject({ kind: 'timeout', requestSent: false });
    expect((await written).failure).toMatchObject({ kind: 'timeout', requestSent: true });
    expect(cluster.requests).toHaveLength(1);

    const refused = await ElevateStandIn.start();
    await refused.close();
    const { failure } = await failureOf(
      client.send({ url: endpoint(refused.url), body: BODY, timeoutMs: 1_000 }),
    );
    expect(failure).toMatchObject({ code: 'ECONNREFUSED', requestSent: false });

    cluster.respondWith(() => 'reset');
    const reset = await failureOf(
      client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 1_000 }),
    );
    expect(reset.failure).toMatchObject({ kind: 'network', requestSent: true });
  });

  it('rejects a malformed URL with a network failure, not a thrown TypeError', async () => {
    const client = new UndiciEsalesTransport();
    closers.push(() => client.close());
    const { failure } = await failureOf(
      client.send({ url: 'not a url', body: BODY, timeoutMs: 2_000 }),
    );
    expect(failure).toMatchObject({ kind: 'network', code: 'ERR_INVALID_URL' });
  });
});

describe('the axios transport', () => {
  it("uses the axios instance's own agents when it has them, and leaves them to the app", async () => {
    const cluster = await standIn();
    const appAgent = new HttpAgent({ keepAlive: true });
    closers.push(() => appAgent.destroy());
    const client = new AxiosEsalesTransport(new HttpService(axios.create({ httpAgent: appAgent })));
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    // The kept-alive socket is in the app's agent's pool.
    expect(Object.values(appAgent.freeSockets).flat()).toHaveLength(1);

    client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await cluster.openConnections()).toBe(1);
    appAgent.destroy();
    for (let polls = 0; (await cluster.openConnections()) > 0 && polls < 300; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await cluster.openConnections()).toBe(0);
  });

  it("carries the module's notifications through the app's own HttpService: its interceptors run, its default headers stay behind", async () => {
    const cluster = await standIn();
    // The app's own registration, with defaults and an interceptor the module's instance lacks.
    @Module({
      imports: [HttpModule.register({ headers: { 'x-shop': 'sample' } })],
      exports: [HttpModule],
    })
    class AppHttpModule {}
    const { app } = await boot([
      EsalesModule.forRootAsync({
        imports: [AppHttpModule],
        inject: [HttpService],
        useFactory: (http: HttpService) => {
          http.axiosRef.interceptors.request.use((config) => {
            config.headers.set('x-intercepted', 'yes');
            return config;
          });
          return {
            clusterUrl: cluster.url,
            allowInsecureClusterUrl: true,
            defaultMarket: 'UK',
            transport: new AxiosEsalesTransport(http),
          };
        },
      }),
    ]);
    closers.push(() => app.close());
    await app.get(EsalesNotificationService).sendNonEsalesClick({
      customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
      sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
      productKey: 'p',
    });
    expect(cluster.requests).toHaveLength(1);
    expect(cluster.requests[0]?.headers['x-intercepted']).toBe('yes');
    expect(cluster.requests[0]?.headers).not.toHaveProperty('x-shop');
  });

  /** An app's instance: defaults written for the app's own APIs, and an interceptor of its own. */
  function appHttp(config: CreateAxiosDefaults = {}): HttpService {
    const instance = axios.create({
      headers: { 'X-App': '1', 'x-api-key': 'app-key' },
      auth: { username: 'app', password: 'app-password' },
      params: { api_key: 'k' },
      baseURL: 'http://127.0.0.1:1/elsewhere',
      ...config,
    });
    instance.defaults.headers.common['Authorization'] = 'Bearer secret';
    instance.defaults.headers.common['Cookie'] = 'session=app';
    instance.defaults.headers.post['X-App-Post'] = 'p';
    instance.interceptors.request.use((request) => {
      request.headers.set('X-Trace', 't');
      return request;
    });
    return new HttpService(instance);
  }

  const APP_BASIC = `Basic ${Buffer.from('app:app-password').toString('base64')}`;
  const APP_DEFAULT_HEADERS = ['authorization', 'cookie', 'x-app', 'x-api-key', 'x-app-post'];

  it("sends none of the instance's default headers, auth, params or baseURL; its interceptors still run", async () => {
    const cluster = await standIn();
    const http = appHttp();
    const client = new AxiosEsalesTransport(http);
    closers.push(() => client.close());
    // Defaults set after the transport was made stay behind too.
    http.axiosRef.defaults.headers.common['X-Late'] = 'late';
    expect(await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 })).toEqual(
      { status: 204, body: '' },
    );

    expect(cluster.requests).toHaveLength(1);
    const [request] = cluster.requests;
    expect(request?.path).toBe(NOTIFICATION_PATHS.nonEsalesClick);
    expect(request?.query).toEqual({});
    expect(request?.headers.host).toBe(new URL(cluster.url).host);
    for (const header of [...APP_DEFAULT_HEADERS, 'x-late']) {
      expect(request?.headers).not.toHaveProperty(header);
    }
    expect(request?.headers).toMatchObject({
      'x-trace': 't',
      'content-type': 'application/json',
      accept: '*/*',
    });
    expect(request?.rawBody).toBe(BODY);
    // The instance is the app's as before: its own requests still carry its defaults.
    expect(http.axiosRef.defaults.headers.common['Authorization']).toBe('Bearer secret');
    expect(http.axiosRef.defaults.params).toEqual({ api_key: 'k' });
  });

  it('forwards the instance defaults with forwardInstanceDefaults: true', async () => {
    const cluster = await standIn();
    const http = appHttp();
    const client = new AxiosEsalesTransport(http, { forwardInstanceDefaults: true });
    closers.push(() => client.close());
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    // axios sends `auth` in place of a default Authorization header.
    expect(cluster.requests[0]?.headers).toMatchObject({
      authorization: APP_BASIC,
      cookie: 'session=app',
      'x-app': '1',
      'x-api-key': 'app-key',
      'x-app-post': 'p',
      'x-trace': 't',
    });
    expect(cluster.requests[0]?.query).toEqual({ api_key: 'k' });

    delete http.axiosRef.defaults.auth;
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    expect(cluster.requests[1]?.headers.authorization).toBe('Bearer secret');
  });

  it('ignores a baseURL even with allowAbsoluteUrls: false, which would put it in front of the cluster URL', async () => {
    const cluster = await standIn();
    const client = new AxiosEsalesTransport(appHttp({ allowAbsoluteUrls: false }));
    closers.push(() => client.close());
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    expect(cluster.requests.map((r) => r.path)).toEqual([NOTIFICATION_PATHS.nonEsalesClick]);

    // What the opt-in does with it: the request goes to the baseURL's host.
    const forwarding = new AxiosEsalesTransport(appHttp({ allowAbsoluteUrls: false }), {
      forwardInstanceDefaults: true,
    });
    closers.push(() => forwarding.close());
    const { failure } = await failureOf(
      forwarding.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 }),
    );
    expect(failure).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    expect(cluster.requests).toHaveLength(1);
  });

  it('sends what an interceptor sets, Authorization and params included: the app’s choice', async () => {
    const cluster = await standIn();
    const http = appHttp();
    http.axiosRef.interceptors.request.use((request) => {
      if (request.url?.startsWith(cluster.url)) {
        request.headers.set('Authorization', 'Bearer for-elevate');
        request.params = { ...(request.params as object), traced: '1' };
      }
      return request;
    });
    const client = new AxiosEsalesTransport(http);
    closers.push(() => client.close());
    await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    expect(cluster.requests[0]?.headers.authorization).toBe('Bearer for-elevate');
    expect(cluster.requests[0]?.query).toEqual({ traced: '1' });
    expect(cluster.requests[0]?.headers).not.toHaveProperty('cookie');
  });

  it("transport: 'axios' sends none of axios' global defaults, which its own instance copies", async () => {
    const cluster = await standIn();
    const { common } = axios.defaults.headers;
    common['Authorization'] = 'Bearer global';
    axios.defaults.params = { api_key: 'global' };
    try {
      const client = createAxiosTransport();
      closers.push(() => client.close());
      await client.send({ url: endpoint(cluster.url), body: BODY, timeoutMs: 2_000 });
    } finally {
      delete common['Authorization'];
      delete axios.defaults.params;
    }
    expect(cluster.requests[0]?.headers).not.toHaveProperty('authorization');
    expect(cluster.requests[0]?.path).toBe(NOTIFICATION_PATHS.nonEsalesClick);
  });
});

describe.each(Object.keys(TRANSPORTS) as EsalesTransportName[])(
  'the %s transport’s pool',
  (name) => {
    const pooled = (size: number, idleConnectionMs = 4_000): EsalesTransport => {
      const made =
        name === 'undici'
          ? new UndiciEsalesTransport({ connections: size, idleConnectionMs })
          : new AxiosEsalesTransport(new HttpService(axios.create()), {
              maxSockets: size,
              idleConnectionMs,
            });
      closers.push(() => made.close?.());
      return made;
    };
    const send = (transport: EsalesTransport, url: string) =>
      transport.send({ url: endpoint(url), body: BODY, timeoutMs: 5_000 });

    it('opens at most as many connections as it is sized to (HTTP/1.1: one request each)', async () => {
      const stand = await standIn();
      stand.respondWith(() => ({ status: 204, delayMs: 50 }));
      const transport = pooled(3);
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => send(transport, stand.url)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 204));
      expect(stand.maxInFlight).toBe(3);
      expect(new Set(stand.requests.map((r) => r.remotePort)).size).toBe(3);
    });

    it('closes connections that stay idle, so the pool shrinks when the limit falls', async () => {
      const stand = await standIn();
      stand.respondWith(() => ({ status: 204, delayMs: 50 }));
      const transport = pooled(8, 200);
      await Promise.all(Array.from({ length: 5 }, () => send(transport, stand.url)));
      expect(await stand.openConnections()).toBe(5);
      const end = performance.now() + 1_500;
      while ((await stand.openConnections()) > 0 && performance.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await stand.openConnections()).toBe(0);
    });
  },
);
