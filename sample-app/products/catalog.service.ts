import { Injectable } from '@nestjs/common';

/** A product as the sample's shop knows it. */
export interface Product {
  key: string;
  name: string;
  /** Variant keys, e.g. sizes or colours; a click may name one. */
  variants: readonly string[];
  /** The selling price in the sample market's currency (GBP), for the storefront's checkout. */
  price: number;
}

/** Keys in the format Elevate's product feed uses; any string would do. */
const PRODUCTS: readonly Product[] = [
  {
    key: 'shirt_79709',
    name: 'Oxford shirt',
    variants: ['shirt_79709_white_m', 'shirt_79709_white_l', 'shirt_79709_blue_m'],
    price: 39.5,
  },
  { key: 'P_555452-0446_UK', name: 'Canvas tote bag', variants: [], price: 18 },
  {
    key: 'mug_1001',
    name: 'Enamel mug',
    variants: ['mug_1001_red', 'mug_1001_green'],
    price: 12,
  },
];

/** An in-memory catalog: the sample needs known and unknown products, not a database. */
@Injectable()
export class CatalogService {
  private readonly products = new Map(PRODUCTS.map((product) => [product.key, product]));

  all(): Product[] {
    return [...this.products.values()];
  }

  find(productKey: string): Product | undefined {
    return this.products.get(productKey);
  }

  /** The product that has this variant. */
  findByVariant(variantKey: string): Product | undefined {
    return this.all().find((product) => product.variants.includes(variantKey));
  }
}
