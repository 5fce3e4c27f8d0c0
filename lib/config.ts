/** `nestjs-esales/config`: the @nestjs/config integration (needs @nestjs/config installed). */
export { esalesConfig } from './config/esales.config.js';
