import { createHmac } from 'node:crypto';
import { EsalesArgumentError } from '../errors/esales-argument.error.js';
import { emptyArgumentMessage } from '../errors/esales.messages.js';

/** @internal Throws unless `value` is a non-empty string; shared by the authentication classes. */
export function requireNonEmpty(
  value: unknown,
  what: string,
  argument: string,
): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EsalesArgumentError(emptyArgumentMessage(what, argument));
  }
}

/**
 * Elevate's `MessageAuthentication`: signs a message with the cluster's private key as
 * HMAC-SHA256 (key and message as UTF-8), lowercase hex.
 */
export class MessageAuthentication {
  readonly #privateKey: string;

  /** @throws EsalesArgumentError when `privateKey` is empty. */
  constructor(privateKey: string) {
    requireNonEmpty(privateKey, 'MessageAuthentication', 'privateKey');
    // A private field keeps the key out of JSON.stringify, util.inspect and error reports.
    this.#privateKey = privateKey;
  }

  /**
   * Returns the lowercase hex HMAC-SHA256 of `message`.
   * @throws EsalesArgumentError when `message` is empty.
   */
  sign(message: string): string {
    requireNonEmpty(message, 'MessageAuthentication.sign', 'message');
    return createHmac('sha256', this.#privateKey).update(message, 'utf8').digest('hex');
  }
}
