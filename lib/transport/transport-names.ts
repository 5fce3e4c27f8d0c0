/** The values of the `transport` option, the default first. */
export const TRANSPORT_NAMES = Object.freeze(['undici', 'axios'] as const);

/** The HTTP clients `EsalesModuleOptions.transport` can choose. */
export type EsalesTransportName = (typeof TRANSPORT_NAMES)[number];

export const DEFAULT_TRANSPORT: EsalesTransportName = 'undici';

/**
 * How much of a response body a transport reads: bodies are only read for an error excerpt, so past
 * this many bytes the rest is discarded (and the connection with it), and a large error page still
 * yields its status.
 */
export const MAX_RESPONSE_BODY_BYTES = 4 * 1024;

/**
 * How long a built-in transport keeps an idle keep-alive connection, in milliseconds. When the
 * concurrency limit falls, the connections it no longer needs go idle and close after this long.
 */
export const IDLE_CONNECTION_MS = 4_000;
