import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The stand-in's own table of Elevate's Web API v1 notification endpoints, written out here rather
 * than taken from the package, so that the stand-in stays an independent check of what the package
 * sends. `requires` names the field the kind's 400 rule is about.
 */
const ENDPOINTS = {
  '/api/v1/notifications/non-esales-click': { kind: 'non-esales-click', requires: 'productKey' },
  '/api/v1/notifications/click': { kind: 'click', requires: 'ticket' },
  '/api/v1/notifications/adding-to-cart': { kind: 'adding-to-cart', requires: 'ticket' },
  '/api/v1/notifications/non-esales-adding-to-cart': {
    kind: 'non-esales-adding-to-cart',
    requires: 'productKey',
  },
  '/api/v1/notifications/payment': { kind: 'payment', requires: 'lines' },
  '/api/v1/notifications/end': { kind: 'end', requires: undefined },
} as const satisfies Record<
  string,
  { kind: string; requires: 'productKey' | 'ticket' | 'lines' | undefined }
>;

type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

/**
 * The six v1 notification endpoints by the last segment of their path
 * (`/api/v1/notifications/{kind}`).
 */
export type StandInKind = Endpoint['kind'];

/** One request the stand-in received, with the answer it gave. */
export interface StandInRequest {
  readonly method: string;
  /** Path and query, e.g. `/api/v1/notifications/payment?paymentToken=…`. */
  readonly path: string;
  /**
   * The notification endpoint the path names, e.g. `'click'` or `'payment'`; undefined for a path
   * that is none of them (answered 404). Typed as a string so a hand-made request fits too; the
   * stand-in only records a `StandInKind` or undefined.
   */
  readonly kind: string | undefined;
  /** The query string parsed (values decoded; a repeated name keeps its last value). */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body as received, decoded as UTF-8. Of a body longer than 64 KiB (65 536 bytes) only the
   * start is kept: what the first 65 536 bytes decode to, cut back to a whole UTF-8 character
   * (`truncated` is then true, and `bodyBytes` says how long it was).
   */
  readonly rawBody: string;
  /**
   * The body parsed as JSON; undefined when it is not JSON, and when it was `truncated` (the stand-in
   * judged the whole body, but keeps no large parsed object).
   */
  readonly body: unknown;
  /** Whether the body was longer than 64 KiB (65 536 bytes), so `rawBody` holds only its start. */
  readonly truncated: boolean;
  /** The length of the whole body as received, in bytes (`rawBody` may hold fewer). */
  readonly bodyBytes: number;
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
   * Private key to validate signed-in (SHA-256) customer keys and secure payments' `paymentToken`
   * with, as Elevate does (403 otherwise). Without one, a signed-in customer key only needs some
   * token, and any `paymentToken` is taken.
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
   * Keep at most this many requests in `requests` (oldest dropped first). Each keeps at most 64 KiB of
   * its body (see `StandInRequest.rawBody`), so 10 000 hold at most about 640 MiB of body bytes.
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

/** The largest body the stand-in reads and judges; a longer one is answered 413 and not recorded. */
const MAX_BODY_BYTES = 1024 * 1024;
/** The most of a body a recorded request keeps (`StandInRequest.rawBody`), in bytes. */
const MAX_RECORDED_BODY_BYTES = 64 * 1024;
/** A signed-in customer key: SHA-256 of the visitor id, 64 lowercase hex digits. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The answers of `elevateAnswer`, Elevate's documented texts where it documents one. */
const ANSWERS = {
  notFound: { status: 404, body: 'Not Found' },
  methodNotAllowed: { status: 405, body: 'Method Not Allowed' },
  unsupportedMediaType: { status: 415, body: 'Content-Type must be application/json.' },
  malformedJson: { status: 400, body: 'Malformed JSON.' },
  productKeyMissing: { status: 400, body: 'Product key is missing.' },
  ticketMissing: { status: 400, body: 'Ticket is missing.' },
  paymentInvalid: {
    status: 400,
    body: 'The payment was invalid (e.g. no order lines or both productKey and variantKey were null or empty).',
  },
  // Elevate documents the rule, not its wording: the next two texts are the stand-in's own.
  costNeedsSecurePayment: {
    status: 400,
    body: 'The payment was invalid: cost is only accepted in a secure payment (paymentToken).',
  },
  securePaymentNeedsCustomerKey: {
    status: 400,
    body: 'The payment was invalid: a secure payment needs a customerKey.',
  },
  paymentTokenInvalid: { status: 403, body: 'The payment token could not be validated.' },
  customerKeyInvalid: { status: 403, body: 'The customer key could not be validated.' },
  accepted: { status: 204 },
} as const satisfies Record<string, StandInAnswer>;

/** One of the entries of `ANSWERS`: what Elevate's rules answer a request. */
type ElevateVerdict = (typeof ANSWERS)[keyof typeof ANSWERS];

/** One of the 4xx entries of `ANSWERS`. */
type Refusal = Exclude<ElevateVerdict, typeof ANSWERS.accepted>;

const isAbsent = (value: unknown): boolean => value === undefined || value === null;
const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The endpoint a path (query included or not) names, or undefined. */
function endpointOf(path: string): Endpoint | undefined {
  const pathname = path.split('?')[0] ?? '';
  return Object.hasOwn(ENDPOINTS, pathname)
    ? ENDPOINTS[pathname as keyof typeof ENDPOINTS]
    : undefined;
}

/** The query string of a path, parsed; a repeated name keeps its last value. */
function queryOf(path: string): Record<string, string> {
  const start = path.indexOf('?');
  return start < 0 ? {} : Object.fromEntries(new URLSearchParams(path.slice(start + 1)));
}

/** HMAC-SHA256 of `message` keyed with `privateKey` (UTF-8), lowercase hex: Elevate's signature. */
function sign(privateKey: string, message: string | Buffer): string {
  return createHmac('sha256', privateKey).update(message).digest('hex');
}

/** Whether `given` is `expected`, compared in constant time (no early exit on the first mismatch). */
function sameToken(expected: string, given: string): boolean {
  const want = Buffer.from(expected, 'utf8');
  const got = Buffer.from(given, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Whether a payment's `lines` are what Elevate takes: a non-empty array of objects, each with a
 * non-empty string `productKey` or `variantKey` (the other sent as null, or as a string), an integer
 * `quantity` and a finite `sellingPrice`.
 */
function validPaymentLines(lines: unknown): lines is Record<string, unknown>[] {
  if (!Array.isArray(lines) || lines.length === 0) return false;
  return lines.every((line: unknown) => {
    if (!isPlainObject(line)) return false;
    const { productKey, variantKey, quantity, sellingPrice } = line;
    const keyOrNull = (key: unknown) => key === null || typeof key === 'string';
    return (
      (isNonEmptyString(productKey) || isNonEmptyString(variantKey)) &&
      keyOrNull(productKey) &&
      keyOrNull(variantKey) &&
      Number.isInteger(quantity) &&
      typeof sellingPrice === 'number' &&
      Number.isFinite(sellingPrice)
    );
  });
}

/**
 * A local stand-in for an Elevate cluster: a real HTTP server on loopback that answers the six Web
 * API v1 notification endpoints the way Elevate documents them, records every request, and can be
 * told to misbehave. For tests, demos and the sample app; not a production component. It does not
 * use the package's constants or signing code, so it checks the package rather than mirroring it.
 *
 * Every endpoint takes `POST` (else 405) with `Content-Type: application/json` (else 415) and a JSON
 * object (else 400 "Malformed JSON."), answers 204 on success, and 403 when a signed-in (SHA-256 hex)
 * `customerKey` comes without a `token` that validates with the private key (without a private key:
 * without any token). Per endpoint under
 * `/api/v1/notifications/`:
 * - `non-esales-click`, `non-esales-adding-to-cart`: 400 "Product key is missing." without a
 *   `productKey` (a `variantKey` alone is fine only with `productKey` sent explicitly as null);
 * - `click`, `adding-to-cart`: 400 "Ticket is missing." without a non-empty string `ticket`;
 * - `payment` (no `id`): 400 "The payment was invalid (…)" unless `lines` is a non-empty array of
 *   valid order lines; 400 when a line has a `cost` but there is no `paymentToken` query parameter
 *   (cost is for secure payments only); a secure payment (`payment?paymentToken=…`) needs a
 *   `customerKey` (400) and, with a private key, a `paymentToken` that validates (403);
 * - `end` (no `id`): no rule of its own.
 *
 * Any other path is answered 404, and a body over 1 MiB 413 (that request is not recorded).
 *
 * Every request is judged on its whole body, but recorded with at most 64 KiB of it (see
 * `StandInRequest.rawBody`, `truncated`). The private key, and everything else the stand-in keeps
 * for itself, is in `#private` fields: `util.inspect()` and `JSON.stringify()` of a stand-in show
 * `requests` and `url`, never the key.
 */
export class ElevateStandIn {
  /** Every request received, oldest first (at most `maxRecorded`). */
  readonly requests: StandInRequest[] = [];
  /** Base URL to configure as `clusterUrl` (with `allowInsecureClusterUrl: true`). */
  readonly url: string;
  readonly #server: Server;
  /** Signs the tokens the stand-in checks; never shown (see the class comment). */
  readonly #privateKey: string | undefined;
  readonly #maxRecorded: number;
  readonly #events = new EventEmitter();
  #responder: StandInResponder | undefined;
  /** Requests deliberately left without an answer ('hang' or 'reset'). */
  readonly #unanswered = new WeakSet<StandInRequest>();
  /**
   * Elevate's answer to each recorded request, worked out on arrival from the whole body and the
   * exact bytes (what a payment token signs), which the record may no longer hold in full.
   */
  readonly #verdicts = new WeakMap<StandInRequest, ElevateVerdict>();
  /** Requests answered or deliberately left unanswered, since the last `clear()`. */
  #settledCount = 0;
  #openRequests = 0;
  #peakOpenRequests = 0;
  #capacity: number;
  #serving = 0;
  readonly #waitingForCapacity: (() => void)[] = [];

  private constructor(server: Server, options: ElevateStandInOptions, url: string) {
    this.#server = server;
    this.url = url;
    // Only what is needed is kept, and not the caller's object.
    this.#privateKey = options.privateKey;
    this.#maxRecorded = options.maxRecorded ?? 10_000;
    this.#capacity = options.capacity ?? Infinity;
    this.#events.setMaxListeners(0);
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
    server.on('request', (req, res) => void standIn.#handle(req, res));
    return standIn;
  }

  /** The recorded requests to one endpoint, oldest first. */
  requestsOf(kind: StandInKind): StandInRequest[] {
    return this.requests.filter((r) => r.kind === kind);
  }

  /** Requests Elevate would have accepted (answered 2xx), oldest first. */
  get accepted(): StandInRequest[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Replaces the answering behaviour; call with no argument to go back to Elevate's. */
  respondWith(responder?: StandInResponder): void {
    this.#responder = responder;
  }

  /** Forgets recorded requests (and resets `maxInFlight` to what is open now). */
  clear(): void {
    this.requests.length = 0;
    this.#settledCount = 0;
    this.#peakOpenRequests = this.#openRequests;
  }

  /** Requests received and not yet answered (hanging ones excluded once they are left hanging). */
  get inFlight(): number {
    return this.#openRequests;
  }

  /** The most requests that were open at once since start (or the last `clear()`). */
  get maxInFlight(): number {
    return this.#peakOpenRequests;
  }

  /** Changes how many requests are answered at once (see the `capacity` option). */
  setCapacity(capacity: number = Infinity): void {
    this.#capacity = capacity;
    this.admitWaiting();
  }

  /**
   * Resolves once at least `count` requests have been received (and answered, unless they hang), with
   * the recorded requests; rejects after `timeoutMs` with an error that says what it waited for and
   * what it did receive. The default stays below Jest's 5 s test timeout, so that message is what a
   * failing test shows.
   */
  async waitForRequests(count: number, timeoutMs = 4_000): Promise<StandInRequest[]> {
    const settled = () => this.#settledCount;
    if (settled() >= count) return this.requests;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#events.off('settled', check);
        reject(new Error(this.waitedInVain(count, timeoutMs)));
      }, timeoutMs);
      timer.unref();
      const check = () => {
        if (settled() < count) return;
        clearTimeout(timer);
        this.#events.off('settled', check);
        resolve(this.requests);
      };
      this.#events.on('settled', check);
    });
  }

  private waitedInVain(count: number, timeoutMs: number): string {
    const received = this.requests.length;
    const latest = this.requests
      .slice(-3)
      .map(
        (r) =>
          `${r.method} ${r.path.split('?')[0] ?? ''} [${r.kind ?? 'unknown endpoint'}] → ` +
          `${r.status ?? 'no answer'}`,
      );
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
      this.#server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
  }

  /** Stops listening and drops every open connection, hanging ones included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /**
   * Elevate's documented behaviour for one request (see the class comment for the rules); a fresh
   * object on every call, so a responder may change it. For a request the stand-in recorded, the
   * answer its whole body got on arrival (even when the record is `truncated`); for any other object,
   * one worked out from its `path`, `headers`, `body` and `rawBody`.
   */
  elevateAnswer(request: StandInRequest): StandInAnswer {
    return { ...(this.#verdicts.get(request) ?? this.elevateRule(request)) };
  }

  /**
   * The entry of `ANSWERS` that Elevate's rules give for a request; `bytes`, when known, are the body
   * exactly as received (else `rawBody` encoded as UTF-8).
   */
  private elevateRule(request: StandInRequest, bytes?: Buffer): ElevateVerdict {
    const endpoint = endpointOf(request.path);
    if (!endpoint) return ANSWERS.notFound;
    if (request.method !== 'POST') return ANSWERS.methodNotAllowed;
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return ANSWERS.unsupportedMediaType;
    }
    const body = request.body;
    if (!isPlainObject(body)) return ANSWERS.malformedJson;
    return (
      this.missingField(endpoint, body) ??
      (endpoint.kind === 'payment' ? this.refusedPayment(request, body, bytes) : undefined) ??
      this.refusedCustomerKey(body) ??
      ANSWERS.accepted
    );
  }

  /** The 400 of a kind whose own field is missing, if it is. */
  private missingField(endpoint: Endpoint, body: Record<string, unknown>): Refusal | undefined {
    switch (endpoint.requires) {
      case 'productKey': {
        // A variant key alone is fine only with productKey sent explicitly as null.
        const productMissing =
          isAbsent(body['productKey']) &&
          !(body['productKey'] === null && !isAbsent(body['variantKey']));
        return productMissing ? ANSWERS.productKeyMissing : undefined;
      }
      case 'ticket':
        return isNonEmptyString(body['ticket']) ? undefined : ANSWERS.ticketMissing;
      case 'lines':
        return validPaymentLines(body['lines']) ? undefined : ANSWERS.paymentInvalid;
      case undefined:
        return undefined;
    }
  }

  /**
   * The 400 or 403 of a payment with valid lines, if any: a `cost` needs the secure form, which needs
   * a `customerKey` and, when the stand-in has a private key, a `paymentToken` that validates.
   *
   * The token is checked as the lowercase hex HMAC-SHA256, keyed with the private key, of the exact
   * body bytes received. That is **inferred**: Voyado documents the token as "generated by
   * stringifying the payment object and signing it with the MessageAuthentication class", not which
   * bytes are signed; signing the bytes sent is the one reading a sender cannot get wrong by
   * re-serialising.
   */
  private refusedPayment(
    request: StandInRequest,
    body: Record<string, unknown>,
    bytes: Buffer | undefined,
  ): Refusal | undefined {
    const paymentToken = Object.hasOwn(request.query, 'paymentToken')
      ? request.query['paymentToken']
      : undefined;
    if (paymentToken === undefined) {
      const lines = body['lines'] as Record<string, unknown>[];
      return lines.some((line) => Object.hasOwn(line, 'cost'))
        ? ANSWERS.costNeedsSecurePayment
        : undefined;
    }
    if (!isNonEmptyString(body['customerKey'])) return ANSWERS.securePaymentNeedsCustomerKey;
    const privateKey = this.#privateKey;
    if (privateKey === undefined) return undefined;
    const signed = bytes ?? Buffer.from(request.rawBody, 'utf8');
    return sameToken(sign(privateKey, signed), paymentToken)
      ? undefined
      : ANSWERS.paymentTokenInvalid;
  }

  /**
   * The 403 of a signed-in (SHA-256 hex) customer key whose `token` does not validate, if so. Hex
   * digits of the token may be in either case; without a private key any string token is taken.
   */
  private refusedCustomerKey(body: Record<string, unknown>): Refusal | undefined {
    const customerKey = body['customerKey'];
    if (typeof customerKey !== 'string' || !SHA256_HEX.test(customerKey)) return undefined;
    const token = body['token'];
    const privateKey = this.#privateKey;
    const valid =
      typeof token === 'string' &&
      (privateKey === undefined || sameToken(sign(privateKey, customerKey), token.toLowerCase()));
    return valid ? undefined : ANSWERS.customerKeyInvalid;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bytes = await readBody(req).catch(() => undefined);
    if (bytes === undefined) {
      res.writeHead(413).end();
      return;
    }
    const wholeBody = bytes.toString('utf8');
    let body: unknown;
    try {
      body = wholeBody ? JSON.parse(wholeBody) : undefined;
    } catch {
      body = undefined;
    }
    const truncated = bytes.length > MAX_RECORDED_BODY_BYTES;
    const path = req.url ?? '/';
    const request: StandInRequest = {
      method: req.method ?? 'GET',
      path,
      kind: endpointOf(path)?.kind,
      query: queryOf(path),
      headers: req.headers,
      rawBody: truncated ? recordedBody(bytes) : wholeBody,
      body: truncated ? undefined : body,
      truncated,
      bodyBytes: bytes.length,
      receivedAt: new Date(),
      remotePort: req.socket.remotePort,
    };
    // Judged now, on the whole body and its exact bytes; only the verdict is kept.
    const whole = truncated ? { ...request, rawBody: wholeBody, body } : request;
    this.#verdicts.set(request, this.elevateRule(whole, bytes));
    this.requests.push(request);
    const max = this.#maxRecorded;
    if (this.requests.length > max) this.requests.splice(0, this.requests.length - max);
    const receivedAt = performance.now();
    this.#openRequests++;
    if (this.#openRequests > this.#peakOpenRequests) this.#peakOpenRequests = this.#openRequests;
    try {
      await this.withCapacity(() => this.answer(req, res, request, receivedAt));
    } finally {
      this.#openRequests--;
    }
  }

  /** Runs `serve` once fewer than `capacity` requests are being served. */
  private async withCapacity(serve: () => Promise<void>): Promise<void> {
    if (this.#serving >= this.#capacity) {
      await new Promise<void>((resolve) => this.#waitingForCapacity.push(resolve));
    }
    this.#serving++;
    try {
      await serve();
    } finally {
      this.#serving--;
      this.admitWaiting();
    }
  }

  private admitWaiting(): void {
    while (this.#serving < this.#capacity && this.#waitingForCapacity.length > 0) {
      // Counted as serving at once, so a burst of releases cannot admit more than the capacity.
      this.#serving++;
      const admit = this.#waitingForCapacity.shift() as () => void;
      queueMicrotask(() => {
        this.#serving--;
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
        (await this.#responder?.(request, () => this.elevateAnswer(request))) ??
        this.elevateAnswer(request);
    } catch {
      answer = { status: 500, body: 'stand-in responder failed' };
    }
    if (answer === 'hang') {
      this.#unanswered.add(request);
      this.settle();
      return;
    }
    if (answer === 'reset') {
      req.socket.destroy();
      this.#unanswered.add(request);
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
    this.#settledCount++;
    this.#events.emit('settled');
  }
}

/**
 * What a recorded request keeps of a body: all of it up to `MAX_RECORDED_BODY_BYTES`, else what the
 * bytes before that limit decode to, cut back so no UTF-8 character is split. Decoded from the bytes
 * rather than sliced from the decoded body, so the kept string does not hold on to the whole one.
 */
function recordedBody(bytes: Buffer): string {
  if (bytes.length <= MAX_RECORDED_BODY_BYTES) return bytes.toString('utf8');
  let end = MAX_RECORDED_BODY_BYTES;
  // A continuation byte (10xxxxxx) at the cut belongs to a character that started before it.
  while (end > MAX_RECORDED_BODY_BYTES - 3 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
