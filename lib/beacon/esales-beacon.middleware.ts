import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import { isbot } from 'isbot';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import type {
  EsalesHttpRequest,
  EsalesVisitor,
} from '../click-tracking/click-tracking-options.interface.js';
import { appendSetCookies, readVisitorCookies } from '../click-tracking/visitor-cookies.js';
import { describeError, isThenable } from '../common/app-code.js';
import {
  assignedVisitorCookies,
  consented,
  tokenVerifies,
} from '../click-tracking/visitor-checks.js';
import type { BeaconSettings, ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import {
  BEACON_DEFAULTS,
  ESALES_LOGGER_CONTEXT,
  ESALES_RESOLVED_OPTIONS,
} from '../esales.constants.js';
import { EsalesConfigError } from '../errors/esales-config.error.js';
import { EsalesUnknownMarketError } from '../errors/esales-unknown-market.error.js';
import { EsalesValidationError } from '../errors/esales-validation.error.js';
import { NotificationPipeline } from '../notification-pipeline.js';
import {
  AddingToCart,
  Click,
  NonEsalesAddingToCart,
  NonEsalesClick,
} from '../notifications/index.js';
import type { NotificationKind, PreparedNotification } from '../notifications/notification-kind.js';
import {
  beaconClientKey,
  beaconContentType,
  beaconOrigin,
  checkBeaconFields,
  parseBeaconBody,
  type BeaconKindName,
  type BeaconParseResult,
  type BeaconPost,
} from './beacon-request.js';

/**
 * The request as the platform hands it to middleware: Express's `Request`, or on Fastify the Node
 * request that `@fastify/middie` decorates (`ip`, `hostname`, `protocol`, `query`, `originalUrl`).
 */
type BeaconHttpRequest = IncomingMessage & {
  readonly ip?: string;
  readonly originalUrl?: string;
  readonly protocol?: string;
  /** What a body parser that ran before this middleware left (Express's JSON parser). */
  readonly body?: unknown;
  /** The bytes, when the app was created with `rawBody: true`. */
  readonly rawBody?: unknown;
};

const KINDS: Readonly<Record<BeaconKindName, NotificationKind>> = Object.freeze({
  click: Click,
  'non-esales-click': NonEsalesClick,
  'adding-to-cart': AddingToCart,
  'non-esales-adding-to-cart': NonEsalesAddingToCart,
});

/** The fields the page sent: a validation problem in one of them is the page's, answered 400. */
const PAGE_FIELDS: ReadonlySet<string> = new Set(['ticket', 'productKey', 'variantKey']);

/** A body as read: bytes or text to parse, an object a parser already made, or why there is none. */
type ReadBody =
  | { readonly bytes: Uint8Array | string }
  | { readonly parsed: unknown }
  | { readonly refused: 413 | 408 | 400; readonly reason: string };

/** Refusals answered before (or instead of) reading the body: the connection is not reused. */
const CLOSE = Object.freeze({ Connection: 'close' });

/** Thrown by the app's resolver: the post is fine, the app's code is not. */
class ResolverError extends Error {}

/**
 * @internal Serves `beacon.path`: takes a page's `{ kind, ticket }` or `{ kind, productKey,
 * variantKey }`, adds the visitor (Apptus cookies or `resolveVisitor`) and the market
 * (`resolveMarket`, else `defaultMarket`), and queues the notification. Answers 204 as soon as it is
 * queued (or deliberately skipped: a bot, no consent, disabled), never after delivery; a malformed
 * post 400, an oversize one 413, a slow one 408, another method 405, a cross-origin one 403, another
 * content type 415, one past the per-IP limit 429 (counted only once the method, origin and type
 * passed); every refusal made without the whole body closes the connection. It answers the
 * request itself: nothing after it (guards, interceptors, the router) runs for the path.
 */
@Injectable()
export class EsalesBeaconMiddleware implements NestMiddleware {
  /**
   * @internal Milliseconds a body has to arrive in once the checks passed: past it, 408 and the
   * connection is closed (Fastify's `requestTimeout` is 0, so nothing else would end it). Read
   * per request; tests shorten it.
   */
  static readTimeoutMs: number = BEACON_DEFAULTS.readTimeoutMs;
  /** @internal Clients the rate limiter tracks at once (tests lower it). */
  static maxRateLimitKeys: number = BEACON_DEFAULTS.maxRateLimitKeys;

  private readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  private readonly settings: BeaconSettings;
  private readonly limiter: RateLimiterMemory | undefined;
  /** The limiter's keys and when their window ends (ms): bounds the keys it holds. */
  private readonly limiterKeys = new Map<string, number>();
  private lastKeySweep = 0;

  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    private readonly pipeline: NotificationPipeline,
  ) {
    // Unreachable: the module applies this middleware only when the options have a beacon.
    if (!options.beacon) throw new EsalesConfigError(['beacon: the endpoint has no options']);
    this.settings = options.beacon;
    const { rateLimit } = this.settings;
    // A limiter of the endpoint's own, in memory: it neither needs nor touches the app's
    // ThrottlerModule, whose guards do not run for middleware anyway.
    this.limiter = rateLimit
      ? new RateLimiterMemory({
          keyPrefix: 'nestjs-esales-beacon',
          points: rateLimit.points,
          duration: rateLimit.durationS,
        })
      : undefined;
  }

  use(request: BeaconHttpRequest, response: ServerResponse, next: (error?: unknown) => void): void {
    if (!this.isOwnPath(request)) {
      next();
      return;
    }
    this.handle(request, response).catch((error: unknown) => {
      this.pipeline.warnings.warn(
        'beacon',
        () => `The beacon endpoint could not take a post: ${describeError(error)}`,
      );
      // The page is owed an answer; what became of its notification is never its concern.
      answer(response, 204);
    });
  }

  /**
   * Whether the request is for the beacon path itself: Nest's route matching may hand the
   * middleware sub-paths (`/esales/notify/x`) too, which go on to the app's router. Under a global
   * prefix the request path ends with the configured one.
   */
  private isOwnPath(request: BeaconHttpRequest): boolean {
    const url = request.originalUrl ?? request.url ?? '';
    const end = url.search(/[?#]/);
    let path = (end === -1 ? url : url.slice(0, end)).toLowerCase();
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return path.endsWith(this.settings.path.toLowerCase());
  }

  private async handle(request: BeaconHttpRequest, response: ServerResponse): Promise<void> {
    // Refusals before the body is read close the connection: a client cannot stream a body at one.
    if (request.method !== 'POST') {
      answer(response, 405, 'only POST is accepted', { Allow: 'POST', ...CLOSE });
      return;
    }
    const origin = beaconOrigin(
      request.headers,
      this.settings.allowedOrigins,
      request.protocol ?? (isEncrypted(request) ? 'https' : 'http'),
    );
    if (!origin) {
      answer(response, 403, 'posts from other origins are not accepted', CLOSE);
      return;
    }
    if (!beaconContentType(request.headers['content-type'])) {
      answer(response, 415, 'the Content-Type must be text/plain or application/json', CLOSE);
      return;
    }
    // After the checks (a cross-site page spends no one's budget), before the body is read: the
    // limit is what keeps a flood cheap.
    const retryAfterS = await this.retryAfter(
      beaconClientKey(request.ip, request.socket.remoteAddress),
    );
    if (retryAfterS !== undefined) {
      answer(response, 429, 'too many posts; try again later', {
        'Retry-After': String(retryAfterS),
        ...CLOSE,
      });
      return;
    }
    const body = await this.readBody(request);
    if ('refused' in body) {
      if (body.refused === 400) {
        answer(response, 400, body.reason);
        return;
      }
      // Nothing more of the body is read: the connection is not reused. One whose body stopped
      // coming is dropped as soon as the answer is out (nothing else would end it on Fastify).
      answer(response, body.refused, body.reason, CLOSE);
      if (body.refused === 408) dropAfterAnswer(request, response);
      return;
    }
    const parsed: BeaconParseResult =
      'parsed' in body ? checkBeaconFields(body.parsed) : parseBeaconBody(body.bytes);
    if (!parsed.ok) {
      // Counted once the body names its kind; before that it is no notification at all.
      if (parsed.kind) this.pipeline.skip('invalid', parsed.kind);
      answer(response, 400, parsed.reason);
      return;
    }
    this.accept(request, response, parsed.post, origin === 'same-origin');
  }

  /** A well-formed post: the checks click tracking makes, then the notification, then 204. */
  private accept(
    request: BeaconHttpRequest,
    response: ServerResponse,
    post: BeaconPost,
    sameOrigin: boolean,
  ): void {
    const kind = KINDS[post.kind];
    const settings = this.options.clickTracking;
    const tracked = request as unknown as EsalesHttpRequest;
    const userAgent = headerOf(request, 'user-agent');
    if (settings.ignoreBots && (!userAgent || isbot(userAgent))) {
      this.pipeline.skip('bot', kind.name);
      answer(response, 204);
      return;
    }
    if (!consented(this.options, this.pipeline.warnings, tracked)) {
      this.pipeline.skip('noConsent', kind.name);
      answer(response, 204);
      return;
    }
    let visitor: BeaconVisitor;
    let notification: Record<string, unknown>;
    try {
      const resolver = settings.resolveMarket;
      const fromApp = resolver ? callResolver(() => resolver(tracked)) : undefined;
      const market = isGiven(fromApp) ? fromApp : undefined;
      const visitorOrNone = this.visitorOf(
        tracked,
        typeof market === 'string' ? market : this.options.defaultMarket,
        sameOrigin,
      );
      if (!visitorOrNone) {
        // A post of another origin that came without the visitor's cookies (SameSite=Lax keeps
        // them from cross-site posts): a made-up visitor would only be noise in Elevate.
        this.pipeline.skip('invalid', kind.name);
        this.logger.debug(
          'Skipped a beacon post from an allowed origin: it carried no visitor cookies',
        );
        answer(response, 204);
        return;
      }
      visitor = visitorOrNone;
      const signedIn = CustomerKeyAuthentication.isSignedInCustomerKey(visitor.customerKey);
      notification = {
        ...(market === undefined ? {} : { market }),
        customerKey: visitor.customerKey,
        sessionKey: visitor.sessionKey,
        token: signedIn && visitor.token ? visitor.token : null,
        ...fieldsOf(post),
      };
    } catch (error) {
      this.pipeline.skip('invalid', kind.name);
      const reason = error instanceof ResolverError ? error.message : describeError(error);
      this.pipeline.warnings.warn('beacon-resolver', () => `Skipped a beacon post: ${reason}`);
      answer(response, 204);
      return;
    }
    const prepared = this.prepare(kind, notification, response);
    if (prepared === 'answered') return;
    // Like a redirect would: a visitor without the Apptus cookies continues as the one sent.
    const cookies =
      prepared && settings.assignVisitorCookies
        ? assignedVisitorCookies(
            this.options,
            this.pipeline.cookieSecurity,
            request,
            visitor.assigned,
          )
        : [];
    if (cookies.length > 0) appendSetCookies(response, cookies);
    answer(response, 204);
    // Hand-off only: O(1); delivery happens later, off the request path, and is never awaited.
    if (prepared) this.pipeline.enqueuePrepared(prepared);
  }

  /**
   * Validates through the pipeline (the kind's DTO; counted there). A problem in the page's own
   * fields is answered 400; one in what the server added (a malformed cookie, an unknown market
   * from `resolveMarket`) is not the page's to fix: counted, logged, 204.
   */
  private prepare(
    kind: NotificationKind,
    notification: Record<string, unknown>,
    response: ServerResponse,
  ): PreparedNotification | undefined | 'answered' {
    let prepared: PreparedNotification | undefined;
    try {
      prepared = this.pipeline.prepare(kind, notification, true);
    } catch (error) {
      if (error instanceof EsalesValidationError) {
        const fields = error.fields;
        if (fields.length > 0 && fields.every((field) => PAGE_FIELDS.has(field))) {
          answer(response, 400, `invalid ${[...new Set(fields)].join(', ')}`);
          return 'answered';
        }
        this.logger.debug(`Skipped a beacon post: ${error.message}`);
        return undefined;
      }
      if (error instanceof EsalesUnknownMarketError) {
        this.pipeline.warnings.warn(
          'beacon-unknown-market',
          () => `Skipped a beacon post: ${error.message}`,
        );
        return undefined;
      }
      throw error;
    }
    if (
      prepared &&
      CustomerKeyAuthentication.isSignedInCustomerKey(prepared.customerKey) &&
      !tokenVerifies(this.options, prepared.market, prepared.customerKey, notification['token'])
    ) {
      this.pipeline.skip('customerKeyNotVerified', kind.name);
      return undefined;
    }
    return prepared;
  }

  /** Seconds to wait when the client is past its limit; undefined when it may post. */
  private async retryAfter(client: string): Promise<number | undefined> {
    if (!this.limiter) return undefined;
    try {
      await this.limiter.consume(this.boundedKey(client));
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      }
      // The limiter itself failed: a visitor's click is not refused for that.
      this.pipeline.warnings.warn(
        'beacon-rate-limit',
        () => `The beacon endpoint's rate limiter failed: ${describeError(rejection)}`,
      );
      return undefined;
    }
  }

  /**
   * The client's key, or, once the limiter tracks `maxRateLimitKeys` clients whose window is still
   * open, one overflow key every new client shares (so a flood of addresses cannot grow the
   * limiter's memory without bound).
   */
  private boundedKey(client: string): string {
    const keys = this.limiterKeys;
    const now = Date.now();
    const windowMs = this.limiter ? this.limiter.duration * 1000 : 0;
    const until = keys.get(client);
    if (until !== undefined && until > now) return client;
    if (until !== undefined) keys.delete(client);
    const cap = EsalesBeaconMiddleware.maxRateLimitKeys;
    if (keys.size >= cap && now - this.lastKeySweep >= 1_000) {
      this.lastKeySweep = now;
      for (const [key, ends] of keys) if (ends <= now) keys.delete(key);
    }
    if (keys.size >= cap) {
      this.pipeline.warnings.warn(
        'beacon-rate-limit-keys',
        () =>
          `The beacon endpoint's rate limiter tracks ${cap} clients: new ones share one limit until windows end`,
      );
      return '\u0000overflow';
    }
    keys.set(client, now + windowMs);
    return client;
  }

  /**
   * The body, by the endpoint's own limit. A body a platform parser already read (Express's JSON
   * parser takes `application/json` before any middleware) is taken from what it left: the raw
   * bytes with `rawBody: true`, else the parsed value, whose `Content-Length` (or re-serialised
   * size) must still be within the limit.
   */
  private async readBody(request: BeaconHttpRequest): Promise<ReadBody> {
    const limit = this.settings.maxBodyBytes;
    const tooLarge = { refused: 413, reason: `the body must be at most ${limit} bytes` } as const;
    const declared = Number(headerOf(request, 'content-length') || NaN);
    if (Number.isFinite(declared) && declared > limit) return tooLarge;
    if (request.readableEnded) {
      const { rawBody, body } = request;
      if (rawBody instanceof Uint8Array)
        return rawBody.byteLength > limit ? tooLarge : { bytes: rawBody };
      if (typeof body === 'string') {
        return Buffer.byteLength(body) > limit ? tooLarge : { bytes: body };
      }
      if (body !== undefined) {
        const size = Number.isFinite(declared) ? declared : serialisedSize(body);
        return size > limit ? tooLarge : { parsed: body };
      }
      return { refused: 400, reason: 'the body was read before the endpoint got it' };
    }
    return readStream(request, limit, tooLarge, EsalesBeaconMiddleware.readTimeoutMs);
  }

  /**
   * The module's `resolveVisitor` when it returns one, else the Apptus cookies; never the body.
   * Missing keys get fresh UUIDs, set as cookies on the answer.
   */
  private visitorOf(
    request: EsalesHttpRequest,
    market: string,
    sameOrigin: boolean,
  ): BeaconVisitor | undefined {
    const names = this.options.clickTracking.cookieNames;
    const cookies = readVisitorCookies(request.headers['cookie'], names);
    const resolver = this.options.clickTracking.resolveVisitor;
    const fromApp = resolver ? callResolver(() => resolver(request, market)) : undefined;
    const assigned: BeaconVisitor['assigned'] = {};
    const sessionKey =
      fromApp?.sessionKey ?? cookies.sessionKey ?? (assigned.sessionKey = randomUUID());
    if (fromApp) return { ...fromApp, sessionKey, assigned };
    // Only the app's own pages get a new visitor; another origin's post must bring one.
    if (!sameOrigin && !cookies.customerKey && !cookies.sessionKey) return undefined;
    const customerKey = cookies.customerKey ?? (assigned.customerKey = randomUUID());
    return { customerKey, sessionKey, token: cookies.token ?? null, assigned };
  }
}

/** The visitor of one post, with the ids that had to be made up for it. */
interface BeaconVisitor extends EsalesVisitor {
  sessionKey: string;
  assigned: { sessionKey?: string; customerKey?: string };
}

/** The kind's own fields of a post, as the notification takes them. */
function fieldsOf(post: BeaconPost): Record<string, unknown> {
  return 'ticket' in post
    ? { ticket: post.ticket }
    : { productKey: post.productKey, variantKey: post.variantKey };
}

/**
 * Reads the request stream up to `limit` bytes, within `timeoutMs`: a body that stops coming gets
 * 408; a request closed or aborted before its end, 400 (nobody is left to read it).
 */
function readStream(
  request: IncomingMessage,
  limit: number,
  tooLarge: ReadBody,
  timeoutMs: number,
): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: ReadBody): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onError);
      request.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limit) {
        // Nothing more is read: the answer closes the connection (`Connection: close`).
        request.pause();
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ bytes: Buffer.concat(chunks, size) });
    const onError = (): void => finish({ refused: 400, reason: 'the body could not be read' });
    const onClose = (): void => {
      if (!request.readableEnded) onError();
    };
    const timer = setTimeout(() => {
      request.pause();
      finish({ refused: 408, reason: 'the body did not arrive in time' });
    }, timeoutMs);
    timer.unref();
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onError);
    request.on('close', onClose);
  });
}

/**
 * Destroys the request once its answer is written (or at once when there is no one to write it
 * to): the rest of its body is never read, and the socket is not kept for another request.
 */
function dropAfterAnswer(request: IncomingMessage, response: ServerResponse): void {
  if (response.writableFinished || response.destroyed) {
    request.destroy();
    return;
  }
  const drop = (): void => {
    request.destroy();
  };
  response.once('finish', drop);
  response.once('close', drop);
}

/** Whether the request came over TLS (when the platform reports no `protocol`). */
function isEncrypted(request: IncomingMessage): boolean {
  return (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
}

/** The size of a parsed body as JSON; past any limit when it cannot be serialised. */
function serialisedSize(body: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(body) ?? '');
  } catch {
    return Infinity;
  }
}

/**
 * Ends the response, unless something already did: a status, a short plain-text reason that
 * never echoes the request, and no caching.
 */
function answer(
  response: ServerResponse,
  status: number,
  reason?: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.writableEnded || response.destroyed) return;
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('Cache-Control', 'no-store');
  if (reason === undefined) {
    response.end();
    return;
  }
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.end(reason);
}

function headerOf(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

/** Runs an app resolver; a throw, or a promise (resolvers are synchronous), is a `ResolverError`. */
function callResolver<T>(call: () => T): T {
  let result: T;
  try {
    result = call();
  } catch (error) {
    throw new ResolverError(`a resolver threw: ${describeError(error)}`);
  }
  if (isThenable(result)) {
    result.then(undefined, () => undefined);
    throw new ResolverError('a resolver returned a promise: resolvers must be synchronous');
  }
  return result;
}

/** Null, undefined and the empty string mean "not given": fall back to the default market. */
const isGiven = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
