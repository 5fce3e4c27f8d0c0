import { Body, Controller, Logger, Post, Req, ValidationPipe } from '@nestjs/common';
import { parse } from 'cookie';
// An Express `Request` is a Node `IncomingMessage`; typing it so needs no @types/express.
import type { IncomingMessage } from 'node:http';
// In your own app: `from 'nestjs-esales'`.
import {
  DEFAULT_COOKIE_NAMES,
  EsalesNotificationService,
  type EsalesVisitorFields,
} from '../../lib/index.js';
import { CheckoutDto } from './checkout.dto.js';

/** What `POST /checkout` answers. */
export interface CheckoutResult {
  orderId: string;
  /** Sum of quantity × selling price over the lines. */
  total: number;
}

@Controller('checkout')
export class CheckoutController {
  private readonly logger = new Logger(CheckoutController.name);

  constructor(private readonly notifications: EsalesNotificationService) {}

  /**
   * Stands in for your checkout: once the order is placed, tells Elevate about the purchase with a
   * `payment` notification for the visitor in the Apptus cookies (signed with `?paymentToken=` when
   * the market has a private key, as the sample's does). The order id is the payment's `dedupeKey`:
   * a second checkout of the same order (a double-click, a retried request) is skipped and counted
   * in `getStats().skippedBy.duplicate`, so Elevate counts the purchase once.
   */
  @Post()
  checkout(
    @Body(
      new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }),
    )
    { orderId, lines }: CheckoutDto,
    @Req() request: IncomingMessage,
  ): CheckoutResult {
    const visitor = apptusVisitorOf(request);
    if (visitor) {
      // Fire and forget: the order is placed, and the visitor's confirmation must neither wait on
      // Elevate nor fail because Elevate is slow or down. `enqueuePayment` validates, dedupes and
      // queues at once and never throws; a payment it cannot send (a `cost` for a market without a
      // private key) or that fails to deliver is logged and counted in `getStats()`.
      // `sendPayment` (awaitable, throws) is for code that must know the outcome, such as a job
      // that records which orders reached Elevate.
      this.notifications.enqueuePayment({ ...visitor, lines }, { dedupeKey: orderId });
    } else {
      // No Apptus cookies: no Elevate visitor to attribute the purchase to.
      this.logger.debug(`Order ${orderId}: no Apptus cookies, no payment notification`);
    }
    const total = lines.reduce((sum, line) => sum + line.quantity * line.sellingPrice, 0);
    return { orderId, total: Math.round(total * 100) / 100 };
  }
}

/**
 * The visitor in the request's Apptus cookies (the names click tracking and Elevate's browser
 * library use, unless you configured `cookieNames`), or undefined without a session and customer
 * key. With `cookie-parser` installed, read `request.cookies` instead.
 */
function apptusVisitorOf(request: IncomingMessage): EsalesVisitorFields | undefined {
  const cookies = parse(request.headers.cookie ?? '');
  const sessionKey = cookies[DEFAULT_COOKIE_NAMES.sessionKey];
  const customerKey = cookies[DEFAULT_COOKIE_NAMES.customerKey];
  if (!sessionKey || !customerKey) return undefined;
  // The token of a signed-in visitor; left out of the notification when there is none.
  return { customerKey, sessionKey, token: cookies[DEFAULT_COOKIE_NAMES.token] || null };
}
