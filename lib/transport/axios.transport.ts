import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { HttpService } from '@nestjs/axios';
import { Injectable, Optional } from '@nestjs/common';
import { isAxiosError, type AxiosBasicCredentials, type RawAxiosRequestHeaders } from 'axios';
import {
  EsalesTransportFailure,
  type EsalesTransport,
  type EsalesTransportRequest,
  type EsalesTransportResponse,
} from './esales-transport.interface.js';
import {
  IDLE_CONNECTION_MS,
  MAX_RESPONSE_BODY_BYTES as MAX_BODY_BYTES,
} from './transport-names.js';

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED']);

/** What the transport sets itself (lower case, as axios compares header names). */
const OWN_HEADERS = new Set(['content-type', 'accept']);

/**
 * Overrides of the instance's request defaults. `undefined` would not do: axios then falls back to
 * the default; and `params: {}` is merged with the default params. `null` ends both (and `params`
 * null never reaches a `paramsSerializer`). An empty `baseURL` is never put in front of a URL,
 * `allowAbsoluteUrls: false` or not.
 */
const WITHOUT_INSTANCE_DEFAULTS = {
  baseURL: '',
  allowAbsoluteUrls: true,
  params: null,
  auth: null as unknown as AxiosBasicCredentials,
} as const;

/** The agents axios is given per request; undefined leaves the instance's default in place. */
interface Agents {
  readonly httpAgent: HttpAgent | undefined;
  readonly httpsAgent: HttpsAgent | undefined;
}

/** Options of `new AxiosEsalesTransport(httpService, options)`. */
export interface AxiosEsalesTransportOptions {
  /**
   * Most sockets per cluster origin on the transport's own keep-alive agents (not on agents the axios
   * instance is configured with). The module sizes it to `maxConcurrency` (or the fixed
   * `concurrency`).
   * @default unlimited
   */
  readonly maxSockets?: number;
  /**
   * How long an idle keep-alive socket of the transport's own agents stays open, in milliseconds.
   * @default 4000
   */
  readonly idleConnectionMs?: number;
  /**
   * `true`: requests to the cluster carry the axios instance's request defaults too — its default
   * headers (`Authorization`, `Cookie` and any other, `common`, `post` or instance-wide), `auth`,
   * `params` / `paramsSerializer` and `baseURL` (with `allowAbsoluteUrls: false`, a `baseURL` is put
   * in front of the cluster URL). Only for an instance whose defaults are meant for Elevate.
   * @default false: none of them reach the cluster
   */
  readonly forwardInstanceDefaults?: boolean;
}

/**
 * Sends notifications through `@nestjs/axios`'s `HttpService` (`transport: 'axios'`): for apps that
 * rely on axios features such as proxy settings or interceptors, at several times the client CPU per POST
 * of `UndiciEsalesTransport`.
 *
 * Connections to the cluster are reused: through the `httpAgent` / `httpsAgent` the axios instance
 * is configured with, or else through keep-alive agents of its own, created on the first send. The
 * service closes its own agents once its queue has drained; configured ones are the app's to close.
 *
 * The instance's defaults are written for the app's own APIs, so unless `forwardInstanceDefaults`
 * is set none of its default headers (`Authorization`, `Cookie`, custom ones alike: every name in
 * `defaults.headers`, `common` and `post` included), `auth`, `params` or `baseURL` reach the cluster:
 * each request overrides them. What still applies is how the instance connects: its interceptors
 * (whatever a request interceptor adds is sent: the app's choice), `proxy` (its `auth` becomes a
 * `Proxy-Authorization` for the proxy) or the proxy environment variables, agents and `adapter`.
 */
@Injectable()
export class AxiosEsalesTransport implements EsalesTransport {
  // Per instance, not module scope: each app gets its own pool and can tear it down on close.
  private agents: Agents | undefined;

  constructor(
    private readonly http: HttpService,
    @Optional() private readonly options: AxiosEsalesTransportOptions = {},
  ) {}

  async send({ url, body, timeoutMs }: EsalesTransportRequest): Promise<EsalesTransportResponse> {
    // axios' `timeout` is an idle timeout on the socket; the signal bounds the whole exchange.
    const deadline = AbortSignal.timeout(timeoutMs);
    const { httpAgent, httpsAgent } = (this.agents ??= this.ownAgents());
    try {
      const response = await this.http.axiosRef.request<Readable>({
        method: 'POST',
        url,
        data: body,
        ...(this.options.forwardInstanceDefaults ? {} : WITHOUT_INSTANCE_DEFAULTS),
        headers: {
          ...(this.options.forwardInstanceDefaults ? {} : this.instanceHeadersUnset()),
          'Content-Type': 'application/json',
          Accept: '*/*',
        },
        // Send the bytes as serialised: no re-encoding by axios or an app-wide default.
        transformRequest: [(data: string) => data],
        responseType: 'stream',
        validateStatus: () => true,
        maxRedirects: 0,
        timeout: timeoutMs,
        signal: deadline,
        transitional: { clarifyTimeoutError: true },
        httpAgent,
        httpsAgent,
      });
      const retryAfter: unknown = response.headers['retry-after'];
      return {
        status: response.status,
        body: await readBounded(response.data, MAX_BODY_BYTES),
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      };
    } catch (error) {
      throw toFailure(error, deadline.aborted);
    }
  }

  close(): void {
    this.agents?.httpAgent?.destroy();
    this.agents?.httpsAgent?.destroy();
  }

  /**
   * Every header name of the instance's defaults, set to `undefined`: axios merges header names
   * caselessly and leaves a header whose value is `undefined` out of the request, while an
   * interceptor can still set it. Read per request: the app may change its defaults at any time.
   */
  private instanceHeadersUnset(): RawAxiosRequestHeaders {
    const unset: RawAxiosRequestHeaders = {};
    const names = (headers: unknown): string[] =>
      typeof headers === 'object' && headers !== null ? Object.keys(headers) : [];
    const defaults: unknown = this.http.axiosRef.defaults.headers;
    for (const name of names(defaults)) {
      const value: unknown = (defaults as Record<string, unknown>)[name];
      // A bucket (`common`, `post`, …) holds defaults; anything else is an instance-wide header.
      const isBucket = typeof value === 'object' && value !== null && !Array.isArray(value);
      for (const header of isBucket ? names(value) : [name]) {
        if (!OWN_HEADERS.has(header.toLowerCase())) unset[header.toLowerCase()] = undefined;
      }
    }
    return unset;
  }

  /** Keep-alive agents for what the axios instance has no agent configured for. */
  private ownAgents(): Agents {
    const { defaults } = this.http.axiosRef;
    // An idle socket is closed after IDLE_CONNECTION_MS (the agent's timeout only ends free sockets;
    // a request's own deadline is set per request).
    const options = {
      keepAlive: true,
      scheduling: 'lifo',
      timeout: this.options.idleConnectionMs ?? IDLE_CONNECTION_MS,
      ...(this.options.maxSockets ? { maxSockets: this.options.maxSockets } : {}),
    } as const;
    return {
      httpAgent: defaults.httpAgent ? undefined : new HttpAgent(options),
      httpsAgent: defaults.httpsAgent ? undefined : new HttpsAgent(options),
    };
  }
}

/** Reads at most `maxBytes` of a body as UTF-8; destroys the stream when there is more. */
async function readBounded(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

function toFailure(error: unknown, deadlinePassed: boolean): EsalesTransportFailure {
  // Only the code is kept: axios errors carry the request config, body and token included.
  const code = isAxiosError(error) ? (error.code ?? 'ERR_NETWORK') : 'ERR_UNKNOWN';
  if (deadlinePassed || TIMEOUT_CODES.has(code)) return new EsalesTransportFailure('timeout', code);
  const cause: unknown = isAxiosError(error) ? error.cause : undefined;
  const systemCode = (cause as { code?: unknown } | undefined)?.code;
  return new EsalesTransportFailure('network', typeof systemCode === 'string' ? systemCode : code);
}
