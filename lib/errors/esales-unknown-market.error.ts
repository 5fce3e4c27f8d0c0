import type { EsalesErrorContext } from './esales.error.js';
import { unknownMarketMessage } from './esales.messages.js';
import { EsalesValidationError } from './esales-validation.error.js';

/** Rejected when `markets` is configured and a notification names a market outside it. */
export class EsalesUnknownMarketError extends EsalesValidationError {
  /** The markets that are configured. */
  readonly knownMarkets: readonly string[];

  constructor(market: string, knownMarkets: readonly string[], context: EsalesErrorContext = {}) {
    super('market', [{ field: 'market', messages: [unknownMarketMessage(market, knownMarkets)] }], {
      ...context,
      market,
    });
    this.message = unknownMarketMessage(market, knownMarkets);
    this.knownMarkets = Object.freeze([...knownMarkets]);
  }
}
