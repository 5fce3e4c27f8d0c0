import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
// In your own app: `from 'nestjs-esales'`.
import { MAX_PAYMENT_LINES, PaymentLineDto } from '../../lib/index.js';

/**
 * The body of `POST /checkout`. Stands in for your order: in a real shop the lines and prices come
 * from the order your checkout placed (the cart, prices looked up on the server), never from the
 * request body, or anyone could report any purchase at any price.
 */
export class CheckoutDto {
  /** The order's id; also the payment's `dedupeKey`, so a double-submitted checkout counts once. */
  @Matches(/^[\w.:-]+$/, { message: '$property may only contain letters, digits, _ . : -' })
  @MaxLength(100)
  @IsNotEmpty()
  @IsString()
  orderId!: string;

  /**
   * The order lines, validated with the package's `PaymentLineDto`: a `productKey` or `variantKey`,
   * a positive integer `quantity`, a `sellingPrice` and, optionally, a `cost` below it (sent only in
   * a signed payment, so only when the market has a private key).
   */
  @ValidateNested({ each: true })
  @Type(() => PaymentLineDto)
  @ArrayMaxSize(MAX_PAYMENT_LINES)
  @ArrayMinSize(1)
  @IsArray()
  lines!: PaymentLineDto[];
}
