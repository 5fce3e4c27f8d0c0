/** One POST to Elevate, as the service hands it to a transport. */
export interface EsalesTransportRequest {
  /**
   * Full endpoint URL. For a signed payment its query string holds the payment token, a secret:
   * a transport (and an axios interceptor) must not log or keep it.
   */
  readonly url: string;
  /** The JSON body, already serialised. */
  readonly body: string;
  /** The request must settle within this many milliseconds. */
  readonly timeoutMs: number;
}

/** Elevate's answer, whatever its status. */
export interface EsalesTransportResponse {
  readonly status: number;
  /** The response body as text (possibly truncated by the transport). */
  readonly body: string;
  /** The `Retry-After` header, when present. */
  readonly retryAfter?: string;
}

/**
 * Carries notifications to Elevate. Resolves with any HTTP answer (status mapping is the service's
 * job) and rejects only with `EsalesTransportFailure`, when no answer came.
 */
export interface EsalesTransport {
  send(request: EsalesTransportRequest): Promise<EsalesTransportResponse>;
  /**
   * Releases pooled connections; requests still in flight fail. The service calls it once, after its
   * queue has drained at shutdown, so a transport must not tear itself down in its own shutdown hook.
   */
  close?(): void | Promise<void>;
}

/** No HTTP answer: the request timed out, or the connection failed. Carries no request data. */
export class EsalesTransportFailure extends Error {
  constructor(
    /** `timeout` when the deadline passed, `network` for everything else. */
    readonly kind: 'timeout' | 'network',
    /** The client or system error code (`ECONNREFUSED`, `ECONNRESET`, …). */
    readonly code: string,
    /**
     * `false` when the request surely never left this process (no connection was made, or the
     * deadline passed before it was written); `true` or undefined when it may have reached the server.
     * Payments, which Elevate cannot deduplicate, are only retried after `false` (or a code such as
     * `ECONNREFUSED` that says the same).
     */
    readonly requestSent?: boolean,
  ) {
    super(`${kind}: ${code}`);
    this.name = 'EsalesTransportFailure';
  }
}
