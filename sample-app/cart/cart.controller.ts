import { Body, Controller, NotFoundException, Post, ValidationPipe } from '@nestjs/common';
// In your own app: `from 'nestjs-esales'`.
import { TrackAddToCart } from '../../lib/index.js';
import { CatalogService, type Product } from '../products/catalog.service.js';
import { CartItemDto } from './cart-item.dto.js';

/** A line of the cart, as the sample answers it. */
export interface CartLine {
  productKey: string;
  variantKey: string | null;
  name: string;
  quantity: number;
}

@Controller('cart')
export class CartController {
  constructor(private readonly catalog: CatalogService) {}

  /**
   * Puts an item in the visitor's cart, and tells Elevate: `adding-to-cart` when the body carries
   * the ticket of the Elevate panel the item was added from, otherwise `non-esales-adding-to-cart`
   * with its product and variant keys. The decorator reads those from the JSON body; the
   * notification is queued only when this answers below 400, so a body `ValidationPipe` refuses
   * (400) or an unknown product or variant (404) sends nothing. The visitor never waits for
   * Elevate; visitors without Apptus cookies get fresh ones on the response.
   *
   * The sample keeps no cart: it answers 201 with the line your shop would store in its own.
   */
  @Post('items')
  @TrackAddToCart({
    ticket: { body: 'ticket' },
    productKey: { body: 'productKey' },
    variantKey: { body: 'variantKey' },
  })
  add(
    @Body(
      new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }),
    )
    item: CartItemDto,
  ): CartLine {
    const product = this.findProduct(item);
    return {
      productKey: product.key,
      variantKey: item.variantKey ?? null,
      name: product.name,
      quantity: item.quantity ?? 1,
    };
  }

  private findProduct({ productKey, variantKey }: CartItemDto): Product {
    const product =
      productKey !== undefined
        ? this.catalog.find(productKey)
        : this.catalog.findByVariant(variantKey ?? '');
    if (!product) throw new NotFoundException(`No product "${productKey ?? variantKey}".`);
    if (variantKey !== undefined && !product.variants.includes(variantKey)) {
      throw new NotFoundException(`Product "${product.key}" has no variant "${variantKey}".`);
    }
    return product;
  }
}
