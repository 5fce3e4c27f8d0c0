import { Injectable, Optional } from '@nestjs/common';
import { Agent, type Dispatcher } from 'undici';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportRequest,
  type EsalesTransportResponse,
} from './esales-transport.interface.js';
import {
  IDLE_CONNECTION_MS,
  MAX_RESPONSE_BODY_BYTES as MAX_BODY_BYTES,
} from './transport-names.js';

/** undici's own timeouts. Ours (the deadline) reports as `DEADLINE_CODE`. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const DEADLINE_CODE = 'ETIMEDOUT';
/** Cached URL → origin and path pairs; endpoints are few (one per cluster), so this is a backstop. */
const MAX_CACHED_TARGETS = 64;
// One object for every request: undici only reads it.
const HEADERS = Object.freeze({ 'content-type': 'application/json', accept: '*/*' });

/** Options of `new UndiciEsalesTransport()`. */
export interface UndiciEsalesTransportOptions {
  /**
   * Most connections per cluster origin (HTTP/1.1: one request per connection). The module sizes it
   * to `maxConcurrency` (or the fixed `concurrency`).
   * @default unlimited
   */
  readonly connections?: number;
  /**
   * How long an idle keep-alive connection stays open, in milliseconds: connections a falling
   * concurrency limit no longer needs close after this long.
   * @default 4000
   */
  readonly idleConnectionMs?: number;
}

interface Target {
  readonly origin: string;
  readonly path: string;
}

/**
 * Sends notifications with undici, on a keep-alive connection pool (`Agent`) of its own, never the
 * global dispatcher. The cheapest transport in client CPU per notification, and the default. The
 * service closes the pool once its queue has drained.
 *
 * `requestTimeoutMs` is a hard deadline over the whole exchange (connecting and the TLS handshake,
 * the headers, the body): when it passes, `send` rejects at once with a `timeout` failure and the
 * request is aborted.
 *
 * Constructible without Nest: `new UndiciEsalesTransport()`.
 */
@Injectable()
export class UndiciEsalesTransport implements EsalesTransport {
  // Per instance: each app gets its own pool and can tear it down on close. undici's own request
  // timeouts are off: the deadline below bounds every request, and costs no timer bookkeeping in
  // undici. Idle connections close after IDLE_CONNECTION_MS, so a pool that grew with the
  // concurrency limit shrinks again when the limit falls.
  private readonly agent: Agent;
  private readonly targets = new Map<string, Target>();

  constructor(@Optional() options: UndiciEsalesTransportOptions = {}) {
    this.agent = new Agent({
      headersTimeout: 0,
      bodyTimeout: 0,
      // The max also caps what a server's `Keep-Alive: timeout=…` hint may ask for.
      keepAliveTimeout: options.idleConnectionMs ?? IDLE_CONNECTION_MS,
      keepAliveMaxTimeout: options.idleConnectionMs ?? IDLE_CONNECTION_MS,
      ...(options.connections ? { connections: options.connections } : {}),
    });
  }

  send({ url, body, timeoutMs }: EsalesTransportRequest): Promise<EsalesTransportResponse> {
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(resolve, reject, timeoutMs);
      try {
        const { origin, path } = this.targetOf(url);
        // `dispatch` rather than `request`: no response stream, no abort signal, and an abort that
        // also works while still connecting, which a signal passed to `request` does not.
        this.agent.dispatch({ origin, path, method: 'POST', headers: HEADERS, body }, exchange);
      } catch (error) {
        exchange.onResponseError(undefined, error);
      }
    });
  }

  /** Destroys the pool: requests in flight fail, sockets are closed, later sends fail at once. */
  close(): Promise<void> {
    return this.agent.destroy();
  }

  /**
   * Origin and path of `url`. Cached by the URL without its query string: a payment's query holds
   * its token, a secret that must not outlive the request (nor fill the cache, one per payment).
   */
  private targetOf(url: string): Target {
    const queryAt = url.indexOf('?');
    const base = queryAt === -1 ? url : url.slice(0, queryAt);
    let target = this.targets.get(base);
    if (target === undefined) {
      const parsed = new URL(base);
      target = { origin: parsed.origin, path: parsed.pathname };
      if (this.targets.size >= MAX_CACHED_TARGETS) this.targets.clear();
      this.targets.set(base, target);
    }
    return queryAt === -1
      ? target
      : { origin: target.origin, path: target.path + url.slice(queryAt) };
  }
}

/**
 * One request's undici handler, deadline and result. Collects at most `MAX_BODY_BYTES` of the body;
 * an empty body (Elevate's 204) settles in `onResponseEnd` with no further work.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private status = 0;
  private retryAfter: string | undefined = undefined;
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (response: EsalesTransportResponse) => void,
    private readonly reject: (failure: EsalesTransportFailure) => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(expire, timeoutMs, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // The deadline passed while the request waited for a connection: do not send it.
    if (this.settled) controller.abort(new Error('deadline passed'));
    else this.controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    this.status = statusCode;
    const retryAfter = headers['retry-after'];
    if (typeof retryAfter === 'string') this.retryAfter = retryAfter;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
    if (this.size >= MAX_BODY_BYTES) {
      this.succeed();
      // Enough for the excerpt: drop the rest, and the connection with it.
      controller.abort(new Error('body excerpt read'));
    }
  }

  onResponseEnd(): void {
    if (!this.settled) this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: unknown): void {
    if (this.settled) return;
    this.settle();
    // Before `onRequestStart` the request was never written: it surely did not reach Elevate.
    this.reject(toFailure(error, this.controller !== undefined));
  }

  /** The deadline passed. */
  expire(): void {
    if (this.settled) return;
    this.settled = true;
    const sent = this.controller !== undefined;
    this.reject(new EsalesTransportFailure('timeout', DEADLINE_CODE, sent));
    this.controller?.abort(new Error('deadline passed'));
  }

  private succeed(): void {
    this.settle();
    const { status, retryAfter } = this;
    const body = this.text();
    this.resolve(retryAfter === undefined ? { status, body } : { status, body, retryAfter });
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }

  /** The first `MAX_BODY_BYTES` of the body as UTF-8. */
  private text(): string {
    const { chunks } = this;
    if (chunks === undefined) return '';
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.size);
    return bytes.toString('utf8', 0, Math.min(bytes.length, MAX_BODY_BYTES));
  }
}

function expire(exchange: Exchange): void {
  exchange.expire();
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Keeps only a code: undici's errors carry no request body, but nothing else is needed. A system code
 * (`ECONNREFUSED`, `ECONNRESET`, …) wins over undici's wrapper code when there is one.
 */
function toFailure(error: unknown, requestSent: boolean): EsalesTransportFailure {
  const code = codeOf(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new EsalesTransportFailure('timeout', code, requestSent);
  }
  const causeCode = codeOf((error as { cause?: unknown } | null | undefined)?.cause);
  const systemCode = code !== undefined && !code.startsWith('UND_ERR_') ? code : causeCode;
  return new EsalesTransportFailure('network', systemCode ?? code ?? 'ERR_UNKNOWN', requestSent);
}
