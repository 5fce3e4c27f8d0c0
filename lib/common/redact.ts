import { sanitise } from './sanitize.js';

/**
 * A customer key as logs show it: enough to correlate, not enough to identify the visitor. Counted
 * in code points (a surrogate pair is never split), and sanitised: the key is the visitor's text.
 */
export function maskCustomerKey(customerKey: string): string {
  const characters = Array.from(customerKey);
  return characters.length <= 8 ? '…' : `${sanitise(characters.slice(0, 4).join(''), 64)}…`;
}
