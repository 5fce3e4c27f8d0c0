/** A customer key as logs show it: enough to correlate, not enough to identify the visitor. */
export const maskCustomerKey = (customerKey: string): string =>
  customerKey.length <= 8 ? '…' : `${customerKey.slice(0, 4)}…`;
