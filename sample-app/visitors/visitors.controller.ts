import { Body, Controller, HttpCode, HttpStatus, Post, Res, ValidationPipe } from '@nestjs/common';
// An Express `Response` is a Node `ServerResponse`; typing it so needs no @types/express.
import type { ServerResponse } from 'node:http';
// In your own app: `from 'nestjs-esales'`.
import { EsalesVisitorCookiesService } from '../../lib/index.js';
import { SignInDto } from './sign-in.dto.js';

/**
 * Signs visitors in and out of Elevate's notion of a customer: the signed-in `apptus.customerKey`
 * and `apptus.token` cookies, read by click tracking and by Elevate's browser library alike. In a
 * real app, call the service from your own sign-in and sign-out handlers.
 */
@Controller()
export class VisitorsController {
  constructor(private readonly visitorCookies: EsalesVisitorCookiesService) {}

  /** `passthrough` keeps Nest in charge of sending the response while the service adds cookies. */
  @Post('sign-in')
  @HttpCode(HttpStatus.OK)
  signIn(
    @Body(new ValidationPipe()) { visitorId }: SignInDto,
    @Res({ passthrough: true }) response: ServerResponse,
  ): { customerKey: string } {
    // The token stays in its cookie: the page has no use for it.
    const { customerKey } = this.visitorCookies.signIn(response, visitorId);
    return { customerKey };
  }

  /** The session cookie is kept: the visitor is the same person, now anonymous. */
  @Post('sign-out')
  @HttpCode(HttpStatus.NO_CONTENT)
  signOut(@Res({ passthrough: true }) response: ServerResponse): void {
    this.visitorCookies.signOut(response);
  }
}
