/**
 * `nestjs-esales/terminus`: the `@nestjs/terminus` health indicator. A separate entry point, so
 * apps without `@nestjs/terminus` (an optional peer) never load it.
 */
export { EsalesHealthIndicator } from './health/esales.health-indicator.js';
