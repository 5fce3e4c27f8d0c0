import { EsalesError } from './esales.error.js';

/** Thrown synchronously when a function of this package is called with an unusable argument. */
export class EsalesArgumentError extends EsalesError {}
