import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyAuthenticationService } from '../auth/customer-key-authentication.service.js';
import { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import { describeError, isThenable } from '../common/app-code.js';
import type { ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import { ESALES_RESOLVED_OPTIONS } from '../esales.constants.js';
import { EsalesArgumentError } from '../errors/esales-argument.error.js';
import { NotificationPipeline } from '../notification-pipeline.js';
import { EndSession } from '../notifications/index.js';
import type { EsalesHttpRequest, EsalesVisitor } from './click-tracking-options.interface.js';
import {
  appendSetCookies,
  expiredVisitorCookie,
  readVisitorCookies,
  requestOf,
  visitorCookie,
  type VisitorCookieAttributes,
} from './visitor-cookies.js';

/** The visitor's fresh identity after `endSession`. */
export interface EsalesEndedSession {
  /**
   * Whether an `end` notification was queued: false when the request had no session to end, or the
   * notification was skipped (invalid, unknown market, disabled, no consent).
   */
  readonly ended: boolean;
  /** The new session key, set as the session cookie; undefined without consent. */
  readonly sessionKey: string | undefined;
  /** The new anonymous customer key, set as the customer-key cookie; undefined without consent. */
  readonly customerKey: string | undefined;
}

/**
 * Sets and clears the Apptus cookies (`apptus.sessionKey`, `apptus.customerKey`, `apptus.token`) from
 * sign-in and sign-out routes, on Express and Fastify responses alike, with the names and domain
 * configured in `EsalesModule`, and ends the Elevate session on sign-out. The cookies are what
 * Elevate's browser library and click tracking read.
 */
@Injectable()
export class EsalesVisitorCookiesService {
  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    private readonly authentication: CustomerKeyAuthenticationService,
    private readonly pipeline: NotificationPipeline,
  ) {}

  /**
   * Sets the signed-in customer key and token for `visitorId` on `response` (before it is sent; with
   * `@Res({ passthrough: true })` or `@Res()`).
   * @param visitorId an internal, unguessable id of the visitor (not an e-mail or user name).
   * @param market whose private key signs the token; the default market when absent.
   * @returns the customer key and token that were set.
   * @throws EsalesConfigError when no private key is configured for the market.
   * @throws EsalesUnknownMarketError when `markets` is configured and does not list the market.
   * @throws EsalesArgumentError when `visitorId` is empty, or the response has already been sent
   * or is not an Express or Fastify response.
   */
  signIn(response: unknown, visitorId: string, market?: string): CustomerKeyAuthentication {
    const visitor = this.authentication.forVisitor(visitorId, market);
    const { cookieNames } = this.options.clickTracking;
    const attributes = this.attributes(response);
    this.append(response, [
      visitorCookie(cookieNames.customerKey, visitor.customerKey, attributes),
      visitorCookie(cookieNames.token, visitor.token, attributes),
    ]);
    return visitor;
  }

  /**
   * Clears the signed-in customer key and token. The next click is anonymous again: click tracking
   * (or Elevate's browser library) gives the visitor a fresh customer key. The session is kept.
   * @throws EsalesArgumentError when the response has already been sent or is not an Express or
   * Fastify response.
   */
  signOut(response: unknown): void {
    const { cookieNames } = this.options.clickTracking;
    const attributes = this.attributes(response);
    this.append(response, [
      expiredVisitorCookie(cookieNames.customerKey, attributes),
      expiredVisitorCookie(cookieNames.token, attributes),
    ]);
  }

  /**
   * Ends the visitor's Elevate session, as the browser library's `endSession()` does: queues an
   * `end` notification for the visitor in the request (the module's `resolveVisitor`, else the
   * Apptus cookies; fire and forget, never awaited), then gives the browser a fresh session key and
   * a fresh anonymous customer key and clears the token. The natural sign-out: `signOut` keeps the
   * session, this starts a new one.
   *
   * Never fails for the notification: a request without a session cookie has nothing to end (the
   * cookies are renewed all the same), and a visitor that does not validate is skipped and counted
   * like any notification. With `consent` configured and not given, nothing is sent and no new ids
   * are handed out: only the signed-in cookies are cleared (counted as `skippedBy.noConsent`).
   * @param market the session's market; the module's `defaultMarket` when absent.
   * @throws EsalesArgumentError when the response has already been sent or is not an Express or
   * Fastify response.
   */
  endSession(request: unknown, response: unknown, market?: string): EsalesEndedSession {
    const { cookieNames } = this.options.clickTracking;
    const attributes = this.attributes(response);
    const tracked = request as EsalesHttpRequest;
    if (!this.consented(tracked)) {
      // Without consent the package neither tracks nor hands out Apptus ids: it only clears.
      this.append(response, [
        expiredVisitorCookie(cookieNames.customerKey, attributes),
        expiredVisitorCookie(cookieNames.token, attributes),
      ]);
      this.pipeline.skip('noConsent', EndSession.name);
      return { ended: false, sessionKey: undefined, customerKey: undefined };
    }
    const sessionKey = randomUUID();
    const customerKey = randomUUID();
    // The cookies first: should the response be gone already, nothing is sent either.
    this.append(response, [
      visitorCookie(cookieNames.sessionKey, sessionKey, attributes),
      visitorCookie(cookieNames.customerKey, customerKey, attributes),
      expiredVisitorCookie(cookieNames.token, attributes),
    ]);
    const ended = this.queueEnd(tracked, market ?? this.options.defaultMarket);
    return { ended, sessionKey, customerKey };
  }

  /** `consent(request)`, as click tracking asks it; a throw counts as no. */
  private consented(request: EsalesHttpRequest): boolean {
    const consent = this.options.clickTracking.consent;
    if (!consent) return true;
    try {
      return consent(request) === true;
    } catch {
      return false;
    }
  }

  /** Queues `end` for the request's visitor; false when there is none, or it was skipped. */
  private queueEnd(request: EsalesHttpRequest, market: string): boolean {
    const visitor = this.visitorOf(request, market);
    if (!visitor?.sessionKey || !visitor.customerKey) return false;
    const signedIn = CustomerKeyAuthentication.isSignedInCustomerKey(visitor.customerKey);
    return this.pipeline.enqueue(EndSession, {
      market,
      customerKey: visitor.customerKey,
      sessionKey: visitor.sessionKey,
      token: signedIn ? (visitor.token ?? null) : null,
    });
  }

  /** The app's `resolveVisitor` (its session cookie filled in), else the cookies. */
  private visitorOf(request: EsalesHttpRequest, market: string): EsalesVisitor | undefined {
    const headers = (request as { headers?: EsalesHttpRequest['headers'] } | undefined)?.headers;
    const cookies = readVisitorCookies(headers?.['cookie'], this.options.clickTracking.cookieNames);
    const resolver = this.options.clickTracking.resolveVisitor;
    if (resolver) {
      try {
        const fromApp = resolver(request, market);
        if (isThenable(fromApp)) throw new Error('resolveVisitor returned a promise');
        if (fromApp) return { ...fromApp, sessionKey: fromApp.sessionKey ?? cookies.sessionKey };
      } catch (error) {
        this.pipeline.warnings.warn(
          'end-session-resolver',
          () => `endSession: resolveVisitor failed, using the cookies: ${describeError(error)}`,
        );
      }
    }
    if (!cookies.customerKey) return undefined;
    return {
      customerKey: cookies.customerKey,
      sessionKey: cookies.sessionKey,
      token: cookies.token,
    };
  }

  private attributes(response: unknown): VisitorCookieAttributes {
    const { cookieDomain } = this.options.clickTracking;
    return {
      secure: this.pipeline.cookieSecurity.secure(requestOf(response)),
      ...(cookieDomain ? { domain: cookieDomain } : {}),
    };
  }

  private append(response: unknown, cookies: string[]): void {
    if (!appendSetCookies(response, cookies)) {
      throw new EsalesArgumentError(
        'cannot set visitor cookies: the response was already sent, or is not an Express or Fastify response',
      );
    }
  }
}
