import {
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Query,
  Redirect,
} from '@nestjs/common';
// In your own app: `from 'nestjs-esales'`.
import { TrackClick } from '../../lib/index.js';
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

  /** Stands in for the shop's product page, so following the redirect lands somewhere real. */
  @Get(':productKey')
  page(
    @Param('productKey') productKey: string,
    @Query('variant') variant: unknown,
  ): Product & { variant: string | null } {
    const product = this.findProduct(productKey, variant);
    return { ...product, variant: typeof variant === 'string' ? variant : null };
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
