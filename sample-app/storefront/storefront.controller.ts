import {
  Body,
  Controller,
  Get,
  Header,
  Post,
  Redirect,
  Req,
  Res,
  ValidationPipe,
} from '@nestjs/common';
import { IsOptional, IsString, MaxLength } from 'class-validator';
// Express's `Request` and `Response` are a Node `IncomingMessage` and `ServerResponse`.
import type { IncomingMessage, ServerResponse } from 'node:http';
// In your own app: `from 'nestjs-esales'`.
import { EsalesVisitorCookiesService } from '../../lib/index.js';
import { CatalogService } from '../products/catalog.service.js';
import { SignInDto } from '../visitors/sign-in.dto.js';
import { STOREFRONT_SCRIPT, STOREFRONT_STYLES } from './assets.js';
import { cartPage, homePage, setPageHeaders } from './pages.js';
import { requireSameOrigin, safeReturnPath } from './same-origin.js';

/** The sign-in form's body: the visitor id of `POST /sign-in`, and the page to go back to. */
export class SignInFormDto extends SignInDto {
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  returnTo?: string;
}

/** The sign-out form's body. */
export class SignOutFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  returnTo?: string;
}

// The rules the forms' handlers share with `POST /sign-in` and `POST /sign-out`.
export { safeReturnPath } from './same-origin.js';

/**
 * The sample's storefront: `GET /` (the product list), `GET /cart` (cart and checkout), their script
 * and stylesheet, and form-friendly sign-in and sign-out. The product page is
 * `GET /products/:productKey`, answered as HTML when a browser asks for it (see `ProductsController`).
 * Everything the pages track goes through the sample's own routes (`/products/…/redirect`,
 * `/cart/items`, `/checkout`) or the package's beacon endpoint: the pages themselves send nothing.
 */
@Controller()
export class StorefrontController {
  constructor(
    private readonly catalog: CatalogService,
    private readonly visitorCookies: EsalesVisitorCookiesService,
  ) {}

  @Get()
  home(
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): string {
    setPageHeaders(response);
    return homePage(request, this.catalog.all());
  }

  @Get('cart')
  cart(
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): string {
    setPageHeaders(response);
    return cartPage(request);
  }

  @Get('storefront.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return STOREFRONT_SCRIPT;
  }

  @Get('storefront.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('x-content-type-options', 'nosniff')
  styles(): string {
    return STOREFRONT_STYLES;
  }

  /**
   * The header's sign-in form: `POST /sign-in`'s `signIn()`, then 303 back to the page. Stands in for
   * your login, as `POST /sign-in` does.
   */
  @Post('storefront/sign-in')
  @Redirect()
  signIn(
    @Body(new ValidationPipe({ whitelist: true })) { visitorId, returnTo }: SignInFormDto,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): { url: string; statusCode: number } {
    requireSameOrigin(request);
    this.visitorCookies.signIn(response, visitorId);
    return { url: safeReturnPath(returnTo), statusCode: 303 };
  }

  /** The header's sign-out button: `POST /sign-out`'s `endSession()`, then 303 back to the page. */
  @Post('storefront/sign-out')
  @Redirect()
  signOut(
    @Body(new ValidationPipe({ whitelist: true })) { returnTo }: SignOutFormDto,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): { url: string; statusCode: number } {
    requireSameOrigin(request);
    this.visitorCookies.endSession(request, response);
    return { url: safeReturnPath(returnTo), statusCode: 303 };
  }
}
