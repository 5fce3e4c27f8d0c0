/** Logger context of everything this package logs. */
export const ESALES_LOGGER_CONTEXT = 'Esales';

/** Injection token of the validated, resolved options (`ResolvedEsalesOptions`). */
export const ESALES_RESOLVED_OPTIONS = Symbol('ESALES_RESOLVED_OPTIONS');

/** Injection token of the transport that carries notifications to Elevate. */
export const ESALES_TRANSPORT = Symbol('ESALES_TRANSPORT');

/** Elevate's public host pattern for a cluster id. */
export const clusterUrlForId = (clusterId: string): string =>
  `https://${clusterId}.api.esales.apptus.cloud`;

/** Paths of the Web API v1 notification endpoints this package sends to. */
export const NOTIFICATION_PATHS = {
  nonEsalesClick: '/api/v1/notifications/non-esales-click',
} as const;

export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
export const MAX_REQUEST_TIMEOUT_MS = 600_000;

/** How much of an error response body is kept for error messages. */
export const BODY_EXCERPT_LENGTH = 512;
