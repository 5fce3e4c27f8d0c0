/** The visitor fields every notification starts with. */
export interface EsalesVisitorFields {
  /** The visitor's market; the module's `defaultMarket` when absent. */
  market?: string;
  /** Visitor id: a UUID for anonymous visitors, a SHA-256 hex for signed-in ones. */
  customerKey: string;
  /** Session id, a UUID. */
  sessionKey: string;
  /** Customer-key token, only for signed-in visitors; left out of the request when absent. */
  token?: string | null;
}

/** The visitor fields plus the `id` of click and cart notifications. */
export interface EsalesIdentifiedFields extends EsalesVisitorFields {
  /** Unique id of this notification; a UUID is generated when absent, and kept on retries. */
  id?: string;
}
