import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedEsalesOptions } from '../config/resolve-esales-options.js';
import { ESALES_RESOLVED_OPTIONS } from '../esales.constants.js';
import { EsalesConfigError } from '../errors/esales-config.error.js';
import { EsalesUnknownMarketError } from '../errors/esales-unknown-market.error.js';
import { missingPrivateKeyMessage } from '../errors/esales.messages.js';
import { CustomerKeyAuthentication } from './customer-key-authentication.js';

/** `CustomerKeyAuthentication` with the private key configured for each market. */
@Injectable()
export class CustomerKeyAuthenticationService {
  constructor(@Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions) {}

  /**
   * The customer key and token of a signed-in visitor.
   * @param visitorId an internal, unguessable id of the visitor (not an e-mail or user name).
   * @param market whose private key to use; the default market when absent.
   * @throws EsalesConfigError when no private key is configured for the market.
   * @throws EsalesUnknownMarketError when `markets` is configured and does not list the market.
   * @throws EsalesArgumentError when `visitorId` is empty.
   */
  forVisitor(visitorId: string, market?: string): CustomerKeyAuthentication {
    return new CustomerKeyAuthentication(this.privateKeyFor(market), visitorId);
  }

  /**
   * Whether `token` is the token of `customerKey` under the market's private key (constant time).
   * @param market whose private key to use; the default market when absent.
   * @throws EsalesConfigError when no private key is configured for the market.
   * @throws EsalesUnknownMarketError when `markets` is configured and does not list the market.
   */
  verify(customerKey: string, token: string, market?: string): boolean {
    return CustomerKeyAuthentication.verify(this.privateKeyFor(market), customerKey, token);
  }

  /** Whether a private key is configured for the market (the default market when absent); false for an unknown market. */
  hasPrivateKey(market?: string): boolean {
    return this.options.privateKey(market ?? this.options.defaultMarket) !== undefined;
  }

  private privateKeyFor(market = this.options.defaultMarket): string {
    if (!this.options.isAllowedMarket(market)) {
      throw new EsalesUnknownMarketError(market, this.options.markets ?? []);
    }
    const key = this.options.privateKey(market);
    if (key === undefined) throw new EsalesConfigError([missingPrivateKeyMessage(market)]);
    return key;
  }
}
