import { Inject, Injectable } from '@nestjs/common';
import { CustomerKeyAuthenticationService } from '../auth/customer-key-authentication.service.js';
import type { CustomerKeyAuthentication } from '../auth/customer-key-authentication.js';
import type { ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import { ESALES_RESOLVED_OPTIONS } from '../esales.constants.js';
import { EsalesArgumentError } from '../errors/esales-argument.error.js';
import {
  appendSetCookies,
  expiredVisitorCookie,
  isSecureRequest,
  requestOf,
  visitorCookie,
  type VisitorCookieAttributes,
} from './visitor-cookies.js';

/**
 * Sets and clears the signed-in Apptus cookies (`apptus.customerKey` and `apptus.token`) from sign-in
 * and sign-out routes, on Express and Fastify responses alike, with the names and domain configured
 * in `EsalesModule`. The cookies are what Elevate's browser library and click tracking read.
 */
@Injectable()
export class EsalesVisitorCookiesService {
  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    private readonly authentication: CustomerKeyAuthenticationService,
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

  private attributes(response: unknown): VisitorCookieAttributes {
    const { cookieDomain } = this.options.clickTracking;
    return {
      secure: isSecureRequest(requestOf(response)),
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
