import { HttpService } from '@nestjs/axios';
import axios from 'axios';
import { AxiosEsalesTransport, type AxiosEsalesTransportOptions } from './axios.transport.js';

/**
 * What `transport: 'axios'` builds: an `AxiosEsalesTransport` on an axios instance of its own,
 * untouched by the app's `HttpModule` setup. The instance copies `axios.defaults`; without
 * `forwardInstanceDefaults` (the module never sets it) their headers, `auth`, `params` and
 * `baseURL` stay off the cluster.
 */
export const createAxiosTransport = (
  options: AxiosEsalesTransportOptions = {},
): AxiosEsalesTransport => new AxiosEsalesTransport(new HttpService(axios.create()), options);
