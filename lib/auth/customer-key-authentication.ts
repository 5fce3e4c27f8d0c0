import { createHash, timingSafeEqual } from 'node:crypto';
import { MessageAuthentication, requireNonEmpty } from './message-authentication.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Elevate's `CustomerKeyAuthentication`: the customer key and token for a signed-in visitor.
 *
 * The customer key is the SHA-256 of the visitor id, so it survives a rotation of the private key;
 * the token is `MessageAuthentication(privateKey).sign(customerKey)`, which lets Elevate check that
 * the key was issued by the shop and not forged by a browser.
 */
export class CustomerKeyAuthentication {
  /** SHA-256 of the visitor id (UTF-8), lowercase hex: the signed-in visitor's `customerKey`. */
  readonly customerKey: string;
  /** HMAC-SHA256 of `customerKey` keyed with the private key, lowercase hex: the visitor's `token`. */
  readonly token: string;

  /**
   * @param privateKey the cluster's private key, as handed out by Voyado.
   * @param visitorId an internal, unguessable id of the signed-in visitor (not an e-mail or user name).
   * @throws EsalesArgumentError when either argument is empty.
   */
  constructor(privateKey: string, visitorId: string) {
    requireNonEmpty(privateKey, 'CustomerKeyAuthentication', 'privateKey');
    requireNonEmpty(visitorId, 'CustomerKeyAuthentication', 'visitorId');
    this.customerKey = CustomerKeyAuthentication.customerKeyFor(visitorId);
    this.token = new MessageAuthentication(privateKey).sign(this.customerKey);
  }

  /**
   * The customer key of a visitor id: SHA-256 (UTF-8), lowercase hex.
   * @throws EsalesArgumentError when `visitorId` is empty.
   */
  static customerKeyFor(visitorId: string): string {
    requireNonEmpty(visitorId, 'CustomerKeyAuthentication.customerKeyFor', 'visitorId');
    return createHash('sha256').update(visitorId, 'utf8').digest('hex');
  }

  /** Whether `customerKey` has the signed-in form (64 lowercase hex digits) rather than a UUID. */
  static isSignedInCustomerKey(customerKey: string): boolean {
    return SHA256_HEX.test(customerKey);
  }

  /**
   * Whether `token` is the token of `customerKey` under `privateKey`, compared in constant time.
   * Returns false (never throws) for a missing or malformed customer key or token.
   * @throws EsalesArgumentError when `privateKey` is empty.
   */
  static verify(privateKey: string, customerKey: string, token: string): boolean {
    const expected = new MessageAuthentication(privateKey);
    if (typeof customerKey !== 'string' || customerKey.length === 0) return false;
    if (typeof token !== 'string' || !SHA256_HEX.test(token.toLowerCase())) return false;
    const want = Buffer.from(expected.sign(customerKey), 'hex');
    const got = Buffer.from(token, 'hex');
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
