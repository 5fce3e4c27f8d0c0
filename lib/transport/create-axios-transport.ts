import { HttpService } from '@nestjs/axios';
import axios from 'axios';
import { AxiosEsalesTransport, type AxiosEsalesTransportOptions } from './axios.transport.js';

/**
 * What `transport: 'axios'` builds: an `AxiosEsalesTransport` on an axios instance of its own,
 * untouched by the app's `HttpModule` setup.
 */
export const createAxiosTransport = (
  options: AxiosEsalesTransportOptions = {},
): AxiosEsalesTransport => new AxiosEsalesTransport(new HttpService(axios.create()), options);
