import { EventEmitter, once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import { NOTIFICATION_PATHS } from '../esales.constants.js';

/** One request the stand-in received, with the answer it gave. */
export interface StandInRequest {
  readonly method: string;
  /** Path and query, e.g. `/api/v1/notifications/non-esales-click`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  readonly rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly body: unknown;
  readonly receivedAt: Date;
  /** The client's port: equal ports mean a reused (keep-alive) connection. */
  readonly remotePort: number | undefined;
  /** Status answered; undefined while pending, or when the stand-in hung up or never answered. */
  status?: number;
  /**
   * Milliseconds from receiving the request to answering it, waiting for `capacity` included;
   * undefined until answered.
   */
  latencyMs?: number;
}

/** How the stand-in answers one request. */
export type StandInAnswer =
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  /** Never answer (the socket stays open until `close()`). */
  | 'hang'
  /** Destroy the connection without an answer. */
  | 'reset';

/**
 * Decides the answer to a request; return undefined for Elevate's own behaviour. `elevate` computes
 * that behaviour, so a responder can delay or wrap it.
 */
export type StandInResponder = (
  request: StandInRequest,
  elevate: () => StandInAnswer,
) => StandInAnswer | undefined | Promise<StandInAnswer | undefined>;

/** Options of `ElevateStandIn.start()`. */
export interface ElevateStandInOptions {
  /**
   * Private key to validate signed-in (SHA-256) customer keys with, as Elevate does (403 otherwise).
   * Without one, a signed-in customer key only needs some token.
   * @default undefined
   */
  privateKey?: string;
  /**
   * Interface to listen on; keep it on loopback.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Keep at most this many requests in `requests` (oldest dropped first).
   * @default 10000
   */
  maxRecorded?: number;
  /**
   * Answer at most this many requests at once, like an overloaded cluster: the others wait, oldest
   * first, until one is answered (so latency rises with load). Can be changed with `setCapacity`.
   * @default unlimited
   */
  capacity?: number;
}

const MAX_BODY_BYTES = 1024 * 1024;
const NOTIFICATION_PREFIX = '/api/v1/notifications/';
const KNOWN_ENDPOINTS = new Set([
  NOTIFICATION_PATHS.nonEsalesClick,
  `${NOTIFICATION_PREFIX}click`,
  `${NOTIFICATION_PREFIX}adding-to-cart`,
  `${NOTIFICATION_PREFIX}non-esales-adding-to-cart`,
]);
const PRODUCT_KEYED = new Set<string>([
  NOTIFICATION_PATHS.nonEsalesClick,
  `${NOTIFICATION_PREFIX}non-esales-adding-to-cart`,
]);

const isAbsent = (value: unknown): boolean => value === undefined || value === null;

/**
 * A local stand-in for an Elevate cluster: a real HTTP server on loopback that answers notifications
 * the way Elevate's Web API v1 documents (204, 400 "Product key is missing.", 403 for a signed-in
 * customer key that does not validate), records every request, and can be told to misbehave. For
 * tests, demos and the sample app; not a production component.
 */
export class ElevateStandIn {
  /** Every request received, oldest first. */
  readonly requests: StandInRequest[] = [];
  private readonly events = new EventEmitter();
  private responder: StandInResponder | undefined;
  /** Requests deliberately left without an answer ('hang' or 'reset'). */
  private readonly unanswered = new WeakSet<StandInRequest>();
  /** Requests answered or deliberately left unanswered, since the last `clear()`. */
  private settledCount = 0;
  private openRequests = 0;
  private peakOpenRequests = 0;
  private capacity: number;
  private serving = 0;
  private readonly waitingForCapacity: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: ElevateStandInOptions,
    /** Base URL to configure as `clusterUrl` (with `allowInsecureClusterUrl: true`). */
    readonly url: string,
  ) {
    this.events.setMaxListeners(0);
    this.capacity = options.capacity ?? Infinity;
  }

  /** Starts a stand-in and resolves once it listens. */
  static async start(options: ElevateStandInOptions = {}): Promise<ElevateStandIn> {
    const server = createServer();
    server.keepAliveTimeout = 5_000;
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await once(server, 'listening');
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    const standIn = new ElevateStandIn(server, options, `http://${host}:${port}`);
    server.on('request', (req, res) => void standIn.handle(req, res));
    return standIn;
  }

  /** Requests Elevate would have accepted (answered 2xx), oldest first. */
  get accepted(): StandInRequest[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Replaces the answering behaviour; call with no argument to go back to Elevate's. */
  respondWith(responder?: StandInResponder): void {
    this.responder = responder;
  }

  /** Forgets recorded requests (and resets `maxInFlight` to what is open now). */
  clear(): void {
    this.requests.length = 0;
    this.settledCount = 0;
    this.peakOpenRequests = this.openRequests;
  }

  /** Requests received and not yet answered (hanging ones excluded once they are left hanging). */
  get inFlight(): number {
    return this.openRequests;
  }

  /** The most requests that were open at once since start (or the last `clear()`). */
  get maxInFlight(): number {
    return this.peakOpenRequests;
  }

  /** Changes how many requests are answered at once (see the `capacity` option). */
  setCapacity(capacity: number = Infinity): void {
    this.capacity = capacity;
    this.admitWaiting();
  }

  /**
   * Resolves once at least `count` requests have been received (and answered, unless they hang), with
   * the recorded requests; rejects after `timeoutMs` with an error that says what it waited for and
   * what it did receive. The default stays below Jest's 5 s test timeout, so that message is what a
   * failing test shows.
   */
  async waitForRequests(count: number, timeoutMs = 4_000): Promise<StandInRequest[]> {
    const settled = () => this.settledCount;
    if (settled() >= count) return this.requests;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('settled', check);
        reject(new Error(this.waitedInVain(count, timeoutMs)));
      }, timeoutMs);
      timer.unref();
      const check = () => {
        if (settled() < count) return;
        clearTimeout(timer);
        this.events.off('settled', check);
        resolve(this.requests);
      };
      this.events.on('settled', check);
    });
  }

  private waitedInVain(count: number, timeoutMs: number): string {
    const received = this.requests.length;
    const latest = this.requests
      .slice(-3)
      .map((r) => `${r.method} ${r.path.split('?')[0] ?? ''} → ${r.status ?? 'no answer'}`);
    return (
      `stand-in: waited ${timeoutMs} ms for ${count} answered request(s), received ${received}` +
      (received > 0 ? ` (latest: ${latest.join('; ')})` : '') +
      (received < count
        ? '. A tracked click is skipped when the request has no browser User-Agent (supertest sends ' +
          "none): set one with .set('User-Agent', …), or use ignoreBots: false in test apps"
        : '')
    );
  }

  /** How many client connections are open right now (keep-alive ones included). */
  async openConnections(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
  }

  /** Stops listening and drops every open connection, hanging ones included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Elevate's documented behaviour for one request. */
  elevateAnswer(request: StandInRequest): StandInAnswer {
    const path = request.path.split('?')[0] ?? '';
    if (!KNOWN_ENDPOINTS.has(path)) return { status: 404, body: 'Not Found' };
    if (request.method !== 'POST') return { status: 405, body: 'Method Not Allowed' };
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return { status: 415, body: 'Content-Type must be application/json.' };
    }
    const body = request.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { status: 400, body: 'Malformed JSON.' };
    }
    if (PRODUCT_KEYED.has(path)) {
      // A variant key alone is fine only with productKey sent explicitly as null.
      const productMissing =
        isAbsent(body['productKey']) &&
        !(body['productKey'] === null && !isAbsent(body['variantKey']));
      if (productMissing) return { status: 400, body: 'Product key is missing.' };
    } else if (isAbsent(body['ticket'])) {
      return { status: 400, body: 'Ticket is missing.' };
    }
    const customerKey = body['customerKey'];
    if (
      typeof customerKey === 'string' &&
      CustomerKeyAuthentication.isSignedInCustomerKey(customerKey)
    ) {
      const token = body['token'];
      const valid =
        typeof token === 'string' &&
        (this.options.privateKey === undefined ||
          CustomerKeyAuthentication.verify(this.options.privateKey, customerKey, token));
      if (!valid) return { status: 403, body: 'The customer key could not be validated.' };
    }
    return { status: 204 };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req).catch(() => undefined);
    if (rawBody === undefined) {
      res.writeHead(413).end();
      return;
    }
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const request: StandInRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      rawBody,
      body,
      receivedAt: new Date(),
      remotePort: req.socket.remotePort,
    };
    this.requests.push(request);
    const max = this.options.maxRecorded ?? 10_000;
    if (this.requests.length > max) this.requests.splice(0, this.requests.length - max);
    const receivedAt = performance.now();
    this.openRequests++;
    if (this.openRequests > this.peakOpenRequests) this.peakOpenRequests = this.openRequests;
    try {
      await this.withCapacity(() => this.answer(req, res, request, receivedAt));
    } finally {
      this.openRequests--;
    }
  }

  /** Runs `serve` once fewer than `capacity` requests are being served. */
  private async withCapacity(serve: () => Promise<void>): Promise<void> {
    if (this.serving >= this.capacity) {
      await new Promise<void>((resolve) => this.waitingForCapacity.push(resolve));
    }
    this.serving++;
    try {
      await serve();
    } finally {
      this.serving--;
      this.admitWaiting();
    }
  }

  private admitWaiting(): void {
    while (this.serving < this.capacity && this.waitingForCapacity.length > 0) {
      // Counted as serving at once, so a burst of releases cannot admit more than the capacity.
      this.serving++;
      const admit = this.waitingForCapacity.shift() as () => void;
      queueMicrotask(() => {
        this.serving--;
        admit();
      });
    }
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    request: StandInRequest,
    receivedAt: number,
  ): Promise<void> {
    let answer: StandInAnswer;
    try {
      answer =
        (await this.responder?.(request, () => this.elevateAnswer(request))) ??
        this.elevateAnswer(request);
    } catch {
      answer = { status: 500, body: 'stand-in responder failed' };
    }
    if (answer === 'hang') {
      this.unanswered.add(request);
      this.settle();
      return;
    }
    if (answer === 'reset') {
      req.socket.destroy();
      this.unanswered.add(request);
      this.settle();
      return;
    }
    const { status, body: responseBody, headers, delayMs } = answer;
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    if (res.destroyed) return;
    request.status = status;
    request.latencyMs = performance.now() - receivedAt;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(status === 204 || status === 304 ? undefined : responseBody);
    this.settle();
  }

  private settle(): void {
    this.settledCount++;
    this.events.emit('settled');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
