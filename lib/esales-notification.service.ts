import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ResolvedEsalesOptions } from './config/resolve-esales-options.js';
import {
  BODY_EXCERPT_LENGTH,
  ESALES_LOGGER_CONTEXT,
  ESALES_RESOLVED_OPTIONS,
  ESALES_TRANSPORT,
} from './esales.constants.js';
import { EsalesConfigError } from './errors/esales-config.error.js';
import { EsalesBadRequestError } from './errors/esales-bad-request.error.js';
import { EsalesCustomerKeyRejectedError } from './errors/esales-customer-key-rejected.error.js';
import type { EsalesDeliveryErrorContext } from './errors/esales.error.js';
import { EsalesServerError } from './errors/esales-server.error.js';
import { EsalesTimeoutError } from './errors/esales-timeout.error.js';
import { EsalesNetworkError } from './errors/esales-network.error.js';
import { EsalesUnknownMarketError } from './errors/esales-unknown-market.error.js';
import { EsalesValidationError } from './errors/esales-validation.error.js';
import {
  prepareNonEsalesClick,
  type NonEsalesClickNotification,
  type PreparedNotification,
} from './notifications/non-esales-click.notification.js';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportResponse,
} from './transport/esales-transport.interface.js';

const NON_ESALES_CLICK = 'non-esales-click';

/** Sends notifications to Elevate for the markets configured in `EsalesModule`. */
@Injectable()
export class EsalesNotificationService implements OnModuleInit {
  private readonly logger = new Logger(ESALES_LOGGER_CONTEXT);

  constructor(
    @Inject(ESALES_RESOLVED_OPTIONS) private readonly options: ResolvedEsalesOptions,
    @Inject(ESALES_TRANSPORT) private readonly transport: EsalesTransport,
  ) {}

  onModuleInit(): void {
    if (!this.options.enabled) {
      this.logger.log('Elevate notifications are disabled (enabled: false): nothing will be sent');
    }
  }

  /**
   * Sends a non-eSales click notification: the visitor clicked a product Elevate did not return.
   *
   * Resolves once Elevate accepted it (2xx), or at once without I/O when the module is disabled.
   * @throws EsalesValidationError (before any I/O) when the notification is malformed.
   * @throws EsalesUnknownMarketError when `markets` is configured and does not list its market.
   * @throws EsalesBadRequestError, EsalesCustomerKeyRejectedError, EsalesServerError,
   * EsalesTimeoutError or EsalesNetworkError when delivery failed.
   */
  async sendNonEsalesClick(notification: NonEsalesClickNotification): Promise<void> {
    const prepared = this.prepare(notification);
    if (!this.options.enabled) return;
    const target = this.options.target(prepared.market);
    // Unreachable: resolution at boot guarantees a target for every allowed market while enabled.
    if (!target)
      throw new EsalesConfigError([`no cluster is configured for market "${prepared.market}"`]);
    const context: EsalesDeliveryErrorContext = {
      market: prepared.market,
      endpoint: target.nonEsalesClickUrl,
      notificationId: prepared.id,
    };
    let response: EsalesTransportResponse;
    try {
      response = await this.transport.send({
        url: target.nonEsalesClickUrl,
        body: prepared.body,
        timeoutMs: this.options.requestTimeoutMs,
      });
    } catch (error) {
      if (error instanceof EsalesTransportFailure && error.kind === 'timeout') {
        throw new EsalesTimeoutError(NON_ESALES_CLICK, this.options.requestTimeoutMs, context);
      }
      const code = error instanceof EsalesTransportFailure ? error.code : 'ERR_UNKNOWN';
      throw new EsalesNetworkError(NON_ESALES_CLICK, code, context);
    }
    const { status } = response;
    if (status >= 200 && status < 300) return;
    const excerpt = excerptOf(response.body, prepared);
    if (status === 400) throw new EsalesBadRequestError(NON_ESALES_CLICK, excerpt, context);
    if (status === 403) throw new EsalesCustomerKeyRejectedError(NON_ESALES_CLICK, context);
    throw new EsalesServerError(NON_ESALES_CLICK, status, excerpt, context, response.retryAfter);
  }

  private prepare(notification: NonEsalesClickNotification): PreparedNotification {
    const prepared = prepareNonEsalesClick(notification, this.options.defaultMarket);
    if (Array.isArray(prepared)) {
      throw new EsalesValidationError('non-eSales click notification', prepared, {
        ...marketOf(notification),
      });
    }
    if (!this.options.isAllowedMarket(prepared.market)) {
      throw new EsalesUnknownMarketError(prepared.market, this.options.markets ?? [], {
        notificationId: prepared.id,
      });
    }
    return prepared;
  }
}

const marketOf = (notification: unknown): { market?: string } => {
  const market = (notification as { market?: unknown } | null)?.market;
  return typeof market === 'string' ? { market } : {};
};

/** A bounded, single-line excerpt of a response body, with the request's token scrubbed if echoed. */
function excerptOf(body: string, prepared: PreparedNotification): string {
  let text = body.slice(0, BODY_EXCERPT_LENGTH * 2);
  if (prepared.token) text = text.split(prepared.token).join('[token]');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > BODY_EXCERPT_LENGTH ? `${text.slice(0, BODY_EXCERPT_LENGTH)}…` : text;
}
