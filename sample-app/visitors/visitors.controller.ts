import {
  Body,
  Controller,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
  ValidationPipe,
} from '@nestjs/common';
// Express's `Request` and `Response` are a Node `IncomingMessage` and `ServerResponse`; typing them
// so needs no @types/express.
import type { IncomingMessage, ServerResponse } from 'node:http';
// In your own app: `from 'nestjs-esales'`.
import { EsalesVisitorCookiesService } from '../../lib/index.js';
import { requireSameOrigin } from '../storefront/same-origin.js';
import { SignInDto } from './sign-in.dto.js';

/**
 * Signs visitors in and out of Elevate's notion of a customer: the Apptus cookies
 * (`apptus.sessionKey`, `apptus.customerKey`, `apptus.token`), read by click tracking and by
 * Elevate's browser library alike. In a real app, call the service from your own sign-in and
 * sign-out handlers. Both refuse (403) a post that a browser says came from another site
 * (`Sec-Fetch-Site`, else `Origin`); a client that sends neither header (curl) is no page's.
 */
@Controller()
export class VisitorsController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  /** `passthrough` keeps Nest in charge of sending the response while the service adds cookies. */
  @Post('sign-in')
  @HttpCode(HttpStatus.OK)
  signIn(
    @Body(new ValidationPipe()) { visitorId }: SignInDto,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): { customerKey: string } {
    // Login CSRF: another site's page must not sign the visitor in (or out) as someone.
    requireSameOrigin(request);
    // The token stays in its cookie: the page has no use for it.
    const { customerKey } = this.visitorCookies.signIn(response, visitorId);
    return { customerKey };
  }

  /**
   * Ends the visitor's Elevate session, as the browser library's `endSession()` does: queues an
   * `end` notification for the visitor in the request's cookies (fire and forget), then sets a fresh
   * session key and anonymous customer key and clears the token. What follows is a new, anonymous
   * visit. (`signOut(response)` would only clear the signed-in cookies and keep the session.)
   */
  @Post('sign-out')
  @HttpCode(HttpStatus.NO_CONTENT)
  signOut(
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): void {
    requireSameOrigin(request);
    this.visitorCookies.endSession(request, response);
  }
}
