/**
 * `nestjs-esales/axios`: the transport on `@nestjs/axios`' `HttpService`. A separate entry point, so
 * apps on the default undici transport need neither `@nestjs/axios` nor `axios` (optional peers);
 * `transport: 'axios'` loads this entry point when the app starts.
 */
export { AxiosEsalesTransport } from './transport/axios.transport.js';
export type { AxiosEsalesTransportOptions } from './transport/axios.transport.js';
export { createAxiosTransport } from './transport/create-axios-transport.js';
