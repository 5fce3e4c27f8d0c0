import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { isbot } from 'isbot';
import type { Observable } from 'rxjs';
import { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import { describeError, isThenable } from '../common/app-code.js';
import { quote } from '../common/sanitize.js';
import type { ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import { assignedVisitorCookies, consented, tokenVerifies } from './visitor-checks.js';
import { ESALES_LOGGER_CONTEXT, ESALES_RESOLVED_OPTIONS } from '../esales.constants.js';
import { EsalesConfigError } from '../errors/esales-config.error.js';
import { NotificationPipeline } from '../notification-pipeline.js';
import type { NotificationKind, PreparedNotification } from '../notifications/notification-kind.js';
import type {
  EsalesHttpRequest,
  EsalesTrackingOptions,
  EsalesValueSource,
  EsalesVisitor,
} from './click-tracking-options.interface.js';
import {
  ESALES_CLICK_CLAIMED,
  ESALES_TRACK_CLICK,
  type TrackingMetadata,
} from './click-tracking.constants.js';
import {
  rawResponseOf,
  readVisitorCookies,
  onSuccessfulHead,
  setCookieNameValue,
  type RawResponse,
} from './visitor-cookies.js';

/** What a tracked request carries before validation: whatever the request held. */
export interface EsalesExtractedClick {
  /** The ticket as read, when the decorator has a ticket source (validated later). */
  ticket?: unknown;
  /** The product key as read (validated later: a string, null or undefined passes). */
  productKey: unknown;
  /** The variant key as read (validated later). */
  variantKey: unknown;
}

/** A visitor as resolved for one click, with the ids that had to be made up for it. */
export interface EsalesResolvedVisitor extends EsalesVisitor {
  /** The session key: the app's, the cookie's, or a fresh UUID. */
  sessionKey: string;
  /** Ids generated for a visitor without cookies; set on the response when `assignVisitorCookies`. */
  assigned: { sessionKey?: string; customerKey?: string };
}

/** How many user agents' bot verdicts an interceptor remembers. */
const MAX_REMEMBERED_USER_AGENTS = 1_000;
/** Browsers' user agents are a few hundred characters at most. */
const MAX_REMEMBERED_USER_AGENT_LENGTH = 512;

/** The package's providers, as the interceptor found them. */
interface Resolved {
  readonly pipeline: NotificationPipeline;
  readonly options: ResolvedEsalesOptions;
  readonly warnings: RateLimitedLog;
}

/** Thrown by a value source or resolver: the app's code failed, the click is skipped. */
class ResolverError extends Error {}

/**
 * Sends the notification of a route marked with `@TrackClick()`, `@TrackAddToCart()` or
 * `@TrackNonEsalesClick()` when it succeeds. Passes straight through for routes without one, so it
 * can also be registered globally.
 *
 * Before the handler runs it reads the click or cart item (route and query parameters, body fields),
 * the market and the visitor
 * (Apptus cookies or `resolveVisitor`), validates them, and sets fresh visitor cookies where they were
 * missing, to go out with the response if its status is below 400. Once the response has gone out with a
 * status below 400 it queues the notification (O(1), no I/O); delivery happens later, off the
 * request path. Nothing here can fail the request:
 * every problem is counted in `getStats()` and logged (debug for bad input, rate-limited warn for the
 * app's own resolvers throwing).
 *
 * Subclass it to change how a click, market or visitor is read (the `protected` hooks), and register
 * the subclass globally (`APP_INTERCEPTOR`): it runs first and claims the request, so the decorator's
 * own interceptor stands aside.
 *
 * It works from any module, whether or not `EsalesModule` is global or imported there. Where the
 * controller's module sees the package's providers (imported, global, or overridden in a testing
 * module), Nest injects those; elsewhere it finds them through `ModuleRef` (not scoped to that module)
 * once the app has initialised. When `EsalesModule` was never registered, the app fails to start
 * with an `EsalesConfigError` that says so.
 */
@Injectable()
export class EsalesClickInterceptor implements NestInterceptor, OnModuleInit {
  protected readonly logger = new Logger(ESALES_LOGGER_CONTEXT);
  private resolved: Resolved | undefined;
  /** Set once the app is initialised: from then on `ModuleRef` returns the real instances. */
  private ready = false;
  private reportedUnresolved = false;
  private readonly botVerdicts = new Map<string, boolean>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly moduleRef: ModuleRef,
    @Optional() private readonly injectedPipeline?: NotificationPipeline,
    @Optional()
    @Inject(ESALES_RESOLVED_OPTIONS)
    private readonly injectedOptions?: ResolvedEsalesOptions,
  ) {}

  /** Finds the package's providers, wherever `EsalesModule` was registered; fails boot without one. */
  onModuleInit(): void {
    this.ready = true;
    this.resolve();
  }

  private get pipeline(): NotificationPipeline {
    return this.resolve().pipeline;
  }

  /** The app's resolved `EsalesModule` options. */
  protected get options(): ResolvedEsalesOptions {
    return this.resolve().options;
  }

  private get warnings(): RateLimitedLog {
    return this.resolve().warnings;
  }

  private resolve(): Resolved {
    if (this.resolved) return this.resolved;
    const injected = this.injectedPipeline && this.injectedOptions;
    // Before the app is initialised ModuleRef may hand out placeholders: never cache one.
    if (!injected && !this.ready) {
      throw new Error(
        `${this.constructor.name}: the package's providers are available from onModuleInit on`,
      );
    }
    let pipeline: NotificationPipeline;
    let options: ResolvedEsalesOptions;
    try {
      pipeline =
        this.injectedPipeline ?? this.moduleRef.get(NotificationPipeline, { strict: false });
      options =
        this.injectedOptions ??
        this.moduleRef.get<ResolvedEsalesOptions>(ESALES_RESOLVED_OPTIONS, { strict: false });
    } catch {
      throw new EsalesConfigError([
        `${this.constructor.name} (used by the tracking decorators) found no EsalesModule: add ` +
          'EsalesModule.forRoot({ … }) (or forRootAsync) to the imports of your AppModule',
      ]);
    }
    const resolved = {
      pipeline,
      options,
      warnings: new RateLimitedLog(this.logger, options.delivery.warnIntervalMs),
    };
    this.resolved = resolved;
    return resolved;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const tracking = this.reflector.getAllAndOverride<TrackingMetadata | undefined>(
      ESALES_TRACK_CLICK,
      [context.getHandler(), context.getClass()],
    );
    if (!tracking) return next.handle();
    // Requests only come once the app is up, also to an instance Nest did not create itself.
    this.ready = true;
    try {
      this.resolve();
    } catch (error) {
      // Boot catches this for instances Nest created; a request is never failed for it.
      if (!this.reportedUnresolved) this.logger.error(`Click not tracked: ${describeError(error)}`);
      this.reportedUnresolved = true;
      return next.handle();
    }
    const http = context.switchToHttp();
    const request = http.getRequest<EsalesHttpRequest & { [ESALES_CLICK_CLAIMED]?: true }>();
    if (request[ESALES_CLICK_CLAIMED]) return next.handle();
    request[ESALES_CLICK_CLAIMED] = true;
    const response: unknown = http.getResponse();
    const raw = rawResponseOf(response);
    if (request.method === 'HEAD') {
      // Link checkers and mail scanners probe links with HEAD: not a visitor's click.
      this.pipeline.skip('headRequest', primaryKind(tracking).name);
      return next.handle();
    }

    this.warnAboutMissingParams(context, request, tracking);
    const plan = raw ? this.beforeHandler(request, tracking) : undefined;
    if (!raw || !plan) return next.handle();
    try {
      // As the status line goes out: the app's own Apptus cookies win over ours.
      onSuccessfulHead(raw, (appSetCookies) => this.reconcile(plan, appSetCookies));
      // Queued once the response has gone out with its final status: whatever runs after the
      // handler (other interceptors, exception filters) has had its say, and the visitor is not
      // kept waiting.
      raw.once('finish', () => this.afterResponse(raw, plan));
    } catch (error) {
      this.warnings.warn(
        'click-response',
        () => `Could not track a click: ${describeError(error)}`,
      );
    }
    return next.handle();
  }

  /**
   * Reads the ticket (when the decorator has a ticket source) and the product and variant keys from
   * the request. The values are validated afterwards; a repeated query parameter arrives as an array
   * and is rejected there.
   */
  protected extractClick(
    request: EsalesHttpRequest,
    tracking: EsalesTrackingOptions,
  ): EsalesExtractedClick {
    const click: EsalesExtractedClick = {
      productKey: readSource(tracking.productKey, request),
      variantKey: readSource(tracking.variantKey, request),
    };
    if (tracking.ticket !== undefined) click.ticket = readSource(tracking.ticket, request);
    return click;
  }

  /**
   * The click's market: the decorator's `market`, then the module's `resolveMarket`, then undefined
   * (the module's `defaultMarket`).
   */
  protected resolveMarket(request: EsalesHttpRequest, tracking: EsalesTrackingOptions): unknown {
    const fromRoute = readSource(tracking.market, request);
    if (isGiven(fromRoute)) return fromRoute;
    const resolver = this.options.clickTracking.resolveMarket;
    const resolved = resolver ? callResolver(() => resolver(request)) : undefined;
    return isGiven(resolved) ? resolved : undefined;
  }

  /**
   * The visitor: the module's `resolveVisitor` (the app's own auth) when it returns one, else the
   * Apptus cookies; missing session and customer keys get fresh UUIDs.
   * @param market the click's market, whose private key a signed-in visitor's token must match.
   */
  protected resolveVisitor(request: EsalesHttpRequest, market: string): EsalesResolvedVisitor {
    const names = this.options.clickTracking.cookieNames;
    const cookies = readVisitorCookies(request.headers['cookie'], names);
    const resolver = this.options.clickTracking.resolveVisitor;
    const fromApp = resolver ? callResolver(() => resolver(request, market)) : undefined;
    const assigned: EsalesResolvedVisitor['assigned'] = {};
    const sessionKey =
      fromApp?.sessionKey ?? cookies.sessionKey ?? (assigned.sessionKey = randomUUID());
    if (fromApp) return { ...fromApp, sessionKey, assigned };
    const customerKey = cookies.customerKey ?? (assigned.customerKey = randomUUID());
    return { customerKey, sessionKey, token: cookies.token ?? null, assigned };
  }

  /**
   * A route-parameter source that names no parameter of the route never yields a value: say so
   * (rate-limited per route and parameter). Not a boot error, because a global prefix, `RouterModule`
   * and versioning add parameters the route's own metadata does not show.
   */
  private warnAboutMissingParams(
    context: ExecutionContext,
    request: EsalesHttpRequest,
    tracking: TrackingMetadata,
  ): void {
    for (const key of ['ticket', 'productKey', 'variantKey', 'market'] as const) {
      const source = tracking.sources[key];
      const name =
        typeof source === 'string'
          ? source
          : typeof source === 'object' && 'param' in source
            ? source.param
            : undefined;
      const params = request.params as object | undefined;
      if (name === undefined || (params && Object.hasOwn(params, name))) continue;
      const route = `${context.getClass().name}.${context.getHandler().name}`;
      const known = params ? Object.keys(params) : [];
      this.warnings.warn(
        `missing-param:${route}:${name}`,
        () =>
          `${tracking.decorator} on ${route}: ${key} reads the route parameter ` +
          `${JSON.stringify(name)}, which the route does not have ` +
          `(${known.length ? `its parameters: ${known.join(', ')}` : 'it has none'}); ` +
          `use { query: ${JSON.stringify(name)} } for a query parameter`,
      );
    }
  }

  private beforeHandler(request: EsalesHttpRequest, tracking: TrackingMetadata): Plan | undefined {
    let kind = primaryKind(tracking);
    try {
      const settings = this.options.clickTracking;
      const userAgent = headerOf(request, 'user-agent');
      // No user agent at all is a script, not a browser.
      if (settings.ignoreBots && (!userAgent || this.isBot(userAgent))) {
        this.pipeline.skip('bot', kind.name);
        // Easy to trip over by hand: curl's and Node's default user agents count as bots.
        this.logger.debug('Skipped a click from a bot (ignoreBots)');
        return undefined;
      }
      if (!consented(this.options, this.warnings, request)) {
        this.pipeline.skip('noConsent', kind.name);
        return undefined;
      }
      const click = this.extractClick(request, tracking.sources);
      // A ticket means a product Elevate returned: its own notification.
      const ticketed = tracking.withTicket !== undefined && isGiven(click.ticket);
      if (ticketed) kind = tracking.withTicket;
      const market = this.resolveMarket(request, tracking.sources);
      const visitor = this.resolveVisitor(
        request,
        typeof market === 'string' ? market : this.options.defaultMarket,
      );
      const signedIn =
        typeof visitor.customerKey === 'string' &&
        CustomerKeyAuthentication.isSignedInCustomerKey(visitor.customerKey);
      const token = signedIn && visitor.token ? visitor.token : null;
      const notification = {
        ...(market !== undefined && market !== null ? { market } : {}),
        customerKey: visitor.customerKey,
        sessionKey: visitor.sessionKey,
        token,
        ...(ticketed
          ? { ticket: click.ticket }
          : kind === tracking.withTicket
            ? { ticket: undefined }
            : { productKey: click.productKey, variantKey: click.variantKey }),
      };
      const prepared = this.prepareVerified(kind, notification);
      if (!prepared) return undefined;
      const cookies = settings.assignVisitorCookies
        ? assignedVisitorCookies(
            this.options,
            this.pipeline.cookieSecurity,
            request,
            visitor.assigned,
          )
        : [];
      return { kind, notification, prepared, cookies, fromApp: undefined };
    } catch (error) {
      this.pipeline.skip('invalid', kind.name);
      const reason = error instanceof ResolverError ? error.message : describeError(error);
      this.warnings.warn('click-resolver', () => `Skipped a click: ${reason}`);
      return undefined;
    }
  }

  /** Validates and counts; a signed-in visitor whose token does not verify is skipped. */
  private prepareVerified(
    kind: NotificationKind,
    notification: TrackedNotification,
  ): PreparedNotification | undefined {
    const prepared = this.pipeline.prepare(kind, notification, false);
    if (!prepared) return undefined;
    const { token } = notification;
    if (
      CustomerKeyAuthentication.isSignedInCustomerKey(prepared.customerKey) &&
      !tokenVerifies(this.options, prepared.market, prepared.customerKey, token)
    ) {
      this.pipeline.skip('customerKeyNotVerified', kind.name);
      this.logger.debug(
        `Skipped a click: the signed-in customer key's token does not verify with market ` +
          `${quote(prepared.market)}'s private key (Elevate would answer 403)`,
      );
      return undefined;
    }
    return prepared;
  }

  /**
   * As the status line goes out: the Apptus cookies the app set itself (a sign-in on a tracked
   * route, say) are not set again by the package, and the notification goes out with the app's
   * values. Returns the package's cookies still to add.
   */
  private reconcile(plan: Plan, appSetCookies: readonly string[]): readonly string[] {
    if (appSetCookies.length === 0) return plan.cookies;
    const names = this.options.clickTracking.cookieNames;
    const setByApp = new Set<string>();
    const fromApp: Partial<Record<'sessionKey' | 'customerKey' | 'token', string>> = {};
    for (const line of appSetCookies) {
      const cookie = setCookieNameValue(line);
      if (!cookie) continue;
      setByApp.add(cookie.name);
      for (const field of ['sessionKey', 'customerKey', 'token'] as const) {
        if (cookie.name === names[field]) fromApp[field] = cookie.value;
      }
    }
    if (Object.keys(fromApp).length > 0) plan.fromApp = fromApp;
    return plan.cookies.filter((line) => !setByApp.has(setCookieNameValue(line)?.name ?? ''));
  }

  private afterResponse(raw: RawResponse, plan: Plan): void {
    try {
      if (raw.statusCode >= 400) return;
      const prepared = plan.fromApp ? this.withAppCookies(plan, plan.fromApp) : plan.prepared;
      // Hand-off only: O(1), and the queue starts delivering on a later turn of the event loop.
      if (prepared) this.pipeline.enqueuePrepared(prepared);
    } catch (error) {
      this.warnings.warn('click-enqueue', () => `Could not queue a click: ${describeError(error)}`);
    }
  }

  /**
   * The notification again, with the visitor the app's own cookies name: a session or customer key
   * the app set replaces ours, and a new customer key brings its own token or none; cookies the
   * app cleared are ignored.
   */
  private withAppCookies(
    plan: Plan,
    fromApp: Partial<Record<'sessionKey' | 'customerKey' | 'token', string>>,
  ): PreparedNotification | undefined {
    const { notification } = plan;
    // A cookie the app cleared (sign-out) changes nothing here: the click happened as the visitor
    // the request came from. Only a value the app set replaces ours.
    const customerKey = fromApp.customerKey || notification.customerKey;
    const sessionKey = fromApp.sessionKey || notification.sessionKey;
    let token = fromApp.token || notification.token;
    if (fromApp.customerKey && !fromApp.token) token = null;
    if (
      typeof customerKey === 'string' &&
      !CustomerKeyAuthentication.isSignedInCustomerKey(customerKey)
    ) {
      token = null;
    }
    if (
      customerKey === notification.customerKey &&
      sessionKey === notification.sessionKey &&
      token === notification.token
    ) {
      return plan.prepared;
    }
    // The first preparation was counted as enqueued only once it is handed over, so nothing is
    // counted twice: this one replaces it.
    return this.prepareVerified(plan.kind, { ...notification, customerKey, sessionKey, token });
  }

  /**
   * `isbot`, remembered per user agent: its pattern list is one large regular expression, and a
   * site's visitors share a limited set of user agents. Bounded: cleared when full.
   */
  private isBot(userAgent: string): boolean {
    // Long ones are not remembered: the visitor chooses the header, the memory is ours.
    if (userAgent.length > MAX_REMEMBERED_USER_AGENT_LENGTH) return isbot(userAgent);
    let bot = this.botVerdicts.get(userAgent);
    if (bot === undefined) {
      bot = isbot(userAgent);
      if (this.botVerdicts.size >= MAX_REMEMBERED_USER_AGENTS) this.botVerdicts.clear();
      this.botVerdicts.set(userAgent, bot);
    }
    return bot;
  }
}

/** What the interceptor sends for a request, as read before the handler ran. */
interface TrackedNotification {
  readonly market?: unknown;
  readonly customerKey: unknown;
  readonly sessionKey: unknown;
  readonly token: string | null;
  readonly [field: string]: unknown;
}

/** One tracked request: what will be sent, and the cookies the package would set. */
interface Plan {
  readonly kind: NotificationKind;
  readonly notification: TrackedNotification;
  readonly prepared: PreparedNotification;
  readonly cookies: readonly string[];
  /** The Apptus cookies the app set on the response itself, if any. */
  fromApp: Partial<Record<'sessionKey' | 'customerKey' | 'token', string>> | undefined;
}

/** Reads one source; an app function that throws becomes a `ResolverError`. */
function readSource(source: EsalesValueSource | undefined, request: EsalesHttpRequest): unknown {
  if (source === undefined) return undefined;
  if (typeof source === 'function') return callResolver(() => source(request));
  if (typeof source === 'string') return ownValue(request.params, source);
  if ('query' in source) return ownValue(request.query, source.query);
  if ('body' in source) return isJson(request) ? ownValue(request['body'], source.body) : undefined;
  return ownValue(request.params, source.param);
}

/** A JSON request body (`application/json`, `application/*+json`): what `{ body }` sources read. */
function isJson(request: EsalesHttpRequest): boolean {
  const type = headerOf(request, 'content-type').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The kind a request without a ticket goes as (what skips before reading the request count as). */
const primaryKind = (tracking: TrackingMetadata): NotificationKind =>
  (tracking.withoutTicket ?? tracking.withTicket) as NotificationKind;

/**
 * A parameter's or body field's value, own properties of a plain object (or array-free container)
 * only: `?constructor=` or a `__proto__` key cannot reach a prototype.
 */
function ownValue(container: unknown, name: string): unknown {
  if (typeof container !== 'object' || container === null || Array.isArray(container)) {
    return undefined;
  }
  return Object.hasOwn(container, name) ? (container as Record<string, unknown>)[name] : undefined;
}

/** Runs an app function; a throw, or a promise (resolvers must be synchronous), becomes a `ResolverError`. */
function callResolver<T>(call: () => T): T {
  let result: T;
  try {
    result = call();
  } catch (error) {
    throw new ResolverError(`a click resolver threw: ${describeError(error)}`);
  }
  if (isThenable(result)) {
    result.then(undefined, () => undefined);
    throw new ResolverError('a click resolver returned a promise: resolvers must be synchronous');
  }
  return result;
}

function headerOf(request: EsalesHttpRequest, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(' ') : (value ?? '');
}

/** Null, undefined and the empty string (`?market=`) mean "not given": fall back. */
const isGiven = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
