import {
  IsDefined,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';

const PRODUCT_OR_VARIANT = 'give a productKey, a variantKey or both';

/** The body of `POST /cart/items`: what the visitor put in the cart. */
export class CartItemDto {
  /** The product's key; may be left out when `variantKey` names the product. */
  @ValidateIf((item: CartItemDto) => item.productKey !== undefined || item.variantKey === undefined)
  @IsDefined({ message: PRODUCT_OR_VARIANT })
  @MaxLength(512)
  @IsNotEmpty()
  @IsString()
  productKey?: string;

  /** The variant's key (a size, a colour). */
  @IsOptional()
  @MaxLength(512)
  @IsNotEmpty()
  @IsString()
  variantKey?: string;

  /**
   * The ticket Elevate gave the product in the panel the visitor added it from; absent for a
   * product from anywhere else (a product page reached from an e-mail, your own recommendations).
   */
  @IsOptional()
  @MaxLength(4096)
  @IsNotEmpty()
  @IsString()
  ticket?: string;

  /** How many; 1 when absent. */
  @IsOptional()
  @Max(99)
  @Min(1)
  @IsInt()
  quantity?: number;
}
