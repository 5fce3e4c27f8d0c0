import {
  BadRequestException,
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  Query,
  Redirect,
  Req,
  Res,
} from '@nestjs/common';
// Express's `Request` and `Response` are a Node `IncomingMessage` and `ServerResponse`.
import type { IncomingMessage, ServerResponse } from 'node:http';
// In your own app: `from 'nestjs-esales'`.
import { TrackClick } from '../../lib/index.js';
import { productPage, setPageHeaders, wantsHtml } from '../storefront/pages.js';
import { CatalogService, type Product } from './catalog.service.js';

@Controller('products')
export class ProductsController {
  constructor(private readonly catalog: CatalogService) {}

  /** The catalog, with the links a product list or an e-mail would use. */
  @Get()
  list(): (Product & { link: string })[] {
    return this.catalog.all().map((product) => ({
      ...product,
      link: `/products/${encodeURIComponent(product.key)}/redirect`,
    }));
  }

  /**
   * Where every product link points, so the click reaches Elevate from the server:
   * - a link from an Elevate panel carries the product's ticket (`?ticket=…`), and the click is
   *   sent as `click`;
   * - a link from outside Elevate's panels (e-mails, campaigns, your own recommendations) has none,
   *   and it is sent as `non-esales-click` with the product and variant keys.
   *
   * The notification is queued only when this answers below 400: an unknown product or variant
   * throws and nothing is sent. The visitor never waits for Elevate.
   */
  @Get(':productKey/redirect')
  @Redirect()
  @TrackClick({
    ticket: { query: 'ticket' },
    productKey: 'productKey',
    variantKey: { query: 'variant' },
  })
  redirect(
    @Param('productKey') productKey: string,
    @Query('variant') variant: unknown,
  ): { url: string } {
    const product = this.findProduct(productKey, variant);
    const query = typeof variant === 'string' ? `?variant=${encodeURIComponent(variant)}` : '';
    return { url: `/products/${encodeURIComponent(product.key)}${query}` };
  }

  /**
   * Stands in for the shop's product page, so following the redirect lands somewhere real: the
   * storefront's HTML page (with "add to cart") for a browser, JSON otherwise. Not tracked: the click
   * was sent by the redirect (or the beacon) that led here. `?ticket=` is the ticket of the panel the
   * visitor came from, which "add to cart" passes on; it does not change the JSON.
   */
  @Get(':productKey')
  @Header('vary', 'Accept')
  page(
    @Param('productKey') productKey: string,
    @Query('variant') variant: unknown,
    @Query('ticket') ticket: unknown,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) response: ServerResponse,
  ): (Product & { variant: string | null }) | string {
    const product = this.findProduct(productKey, variant);
    const chosen = typeof variant === 'string' ? variant : null;
    if (wantsHtml(request)) {
      setPageHeaders(response);
      const panelTicket = typeof ticket === 'string' && ticket.length <= 4096 ? ticket : null;
      return productPage(request, product, chosen, panelTicket || null);
    }
    return { ...product, variant: chosen };
  }

  private findProduct(productKey: string, variant: unknown): Product {
    if (variant !== undefined && typeof variant !== 'string') {
      throw new BadRequestException('Give at most one variant.');
    }
    const product = this.catalog.find(productKey);
    if (!product) throw new NotFoundException(`No product "${productKey}".`);
    if (variant !== undefined && !product.variants.includes(variant)) {
      throw new NotFoundException(`Product "${productKey}" has no variant "${variant}".`);
    }
    return product;
  }
}
