/**
 * The six Elevate 3 Web API v1 notifications, by endpoint name (the last segment of the path): the
 * `kind` of errors, delivery events and `getStats().byKind`.
 */
export type EsalesNotificationKindName =
  'non-esales-click' | 'click' | 'adding-to-cart' | 'non-esales-adding-to-cart' | 'payment' | 'end';
