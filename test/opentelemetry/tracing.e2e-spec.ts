import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { request as undiciRequest } from 'undici';
import type { EsalesModuleOptions } from '../../lib/config/esales-options.interface.js';
import type { EsalesTransportName } from '../../lib/config/esales-options.interface.js';
import type { StandInRequest } from '../../lib/testing/elevate-stand-in.js';
import { testApp, type TestApp } from '../support/test-app.js';

/*
 * The package's own POSTs to Elevate and the app's OpenTelemetry tracing: a real TracerProvider
 * with an in-memory exporter, the AsyncLocalStorage context manager, the W3C propagator and
 * UndiciInstrumentation, all registered globally as an app would. By default the POSTs make no span
 * and send no `traceparent`; with `traceNotifications: true` each attempt is a client span.
 */

const VISITOR = {
  customerKey: 'd9528030-509c-4e0f-b585-7168f1e9feca',
  sessionKey: 'b106299c-eac0-4f6f-96d2-93e57c255784',
};
const FAST: Partial<EsalesModuleOptions> = {
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 30,
  breakerThreshold: 10_000,
};
/** W3C traceparent: version, trace id, parent (span) id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();
let instrumentation: UndiciInstrumentation;
const tracer = provider.getTracer('tracing-spec');

beforeAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
  expect(context.setGlobalContextManager(contextManager.enable())).toBe(true);
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  expect(propagation.setGlobalPropagator(new W3CTraceContextPropagator())).toBe(true);
  // Enabled from the start (its config's `enabled`, which it also checks per request, is true).
  instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(provider);
  instrumentation.enable();
});

afterAll(async () => {
  instrumentation.disable();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

beforeEach(() => exporter.reset());

/** Runs `body` inside an active span of the test's own, ended afterwards. */
async function inSpan<T>(name: string, body: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await body(span);
    } finally {
      span.end();
    }
  });
}

/** The client spans of requests to `standIn` (by server port). */
function spansTo(t: TestApp): ReadableSpan[] {
  const port = Number(new URL(t.standIn.url).port);
  return exporter
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.CLIENT && s.attributes['server.port'] === port);
}

const traceparentOf = (request: StandInRequest | undefined) => request?.headers['traceparent'];

/** The control: a request of the test's own, inside a span, through the very undici the transport uses. */
async function controlRequest(t: TestApp): Promise<{ traceId: string }> {
  return inSpan('control', async (span) => {
    const response = await undiciRequest(`${t.standIn.url}/api/v1/notifications/end`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ market: 'UK', ...VISITOR }),
    });
    await response.body.text();
    expect(response.statusCode).toBe(204);
    return { traceId: span.spanContext().traceId };
  });
}

describe.each<EsalesTransportName>(['undici', 'axios'])(
  'by default (traceNotifications: false), %s transport',
  (transport) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await testApp({ options: { ...FAST, transport } });
    });
    afterAll(() => t.close());
    beforeEach(() => t.standIn.clear());

    it('sending inside an active span: no client span for the POST, no traceparent sent', async () => {
      await inSpan('checkout', async () => {
        await t.service.sendNonEsalesClick({ ...VISITOR, productKey: 'p-1' });
        await t.service.sendPayment({
          ...VISITOR,
          lines: [{ productKey: 'p-2', quantity: 1, sellingPrice: 5 }],
        });
        t.service.enqueueEndSession(VISITOR);
        expect(await t.service.flush()).toBe(true);
      });
      expect(t.standIn.requests).toHaveLength(3);
      expect(t.standIn.accepted).toHaveLength(3);
      expect(t.standIn.requests.map(traceparentOf)).toEqual([undefined, undefined, undefined]);
      expect(t.standIn.requests.map((r) => r.headers['tracestate'])).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      expect(spansTo(t)).toEqual([]);
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['checkout']);
    });

    it('retries outside any span are not traced either', async () => {
      let calls = 0;
      t.standIn.respondWith(() => (++calls === 1 ? { status: 503 } : undefined));
      try {
        await t.service.sendEndSession(VISITOR);
      } finally {
        t.standIn.respondWith();
      }
      expect(t.standIn.requests.map((r) => r.status)).toEqual([503, 204]);
      expect(t.standIn.requests.map(traceparentOf)).toEqual([undefined, undefined]);
      expect(spansTo(t)).toEqual([]);
    });

    it("the control: the test's own undici request in a span IS traced and carries traceparent", async () => {
      const { traceId } = await controlRequest(t);
      const spans = spansTo(t);
      expect(spans).toHaveLength(1);
      expect(spans[0]?.spanContext().traceId).toBe(traceId);
      const header = traceparentOf(t.standIn.requests[0]);
      expect(header).toMatch(TRACEPARENT);
      expect(String(header)).toContain(traceId);
      // Node's own fetch (its bundled undici) is seen too.
      exporter.reset();
      await inSpan('fetch', async () => {
        const response = await fetch(`${t.standIn.url}/api/v1/notifications/end`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ market: 'UK', ...VISITOR }),
        });
        await response.arrayBuffer();
      });
      expect(spansTo(t)).toHaveLength(1);
      expect(traceparentOf(t.standIn.requests[1])).toMatch(TRACEPARENT);
    });
  },
);

describe('traceNotifications: true (undici transport)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ options: { ...FAST, traceNotifications: true } });
  });
  afterAll(() => t.close());
  beforeEach(() => {
    t.standIn.clear();
    t.standIn.respondWith();
  });

  it('one client span per attempt (503 then 204: two), each request carrying its traceparent', async () => {
    let calls = 0;
    t.standIn.respondWith(() => (++calls === 1 ? { status: 503 } : undefined));
    const { traceId, spanId } = await inSpan('checkout', async (span) => {
      await t.service.sendNonEsalesClick({ ...VISITOR, id: 'traced-1', productKey: 'p-1' });
      return span.spanContext();
    });
    expect(t.standIn.requests.map((r) => r.status)).toEqual([503, 204]);
    const spans = spansTo(t).sort((a, b) =>
      a.startTime[0] === b.startTime[0]
        ? a.startTime[1] - b.startTime[1]
        : a.startTime[0] - b.startTime[0],
    );
    expect(spans).toHaveLength(2);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 204]);
    expect(spans.map((s) => s.attributes['http.request.method'])).toEqual(['POST', 'POST']);
    expect(spans.map((s) => s.attributes['url.path'])).toEqual([
      '/api/v1/notifications/non-esales-click',
      '/api/v1/notifications/non-esales-click',
    ]);
    // Each recorded request carries the traceparent of its own attempt's span.
    t.standIn.requests.forEach((request, i) => {
      const [, headerTrace, headerSpan] = TRACEPARENT.exec(String(traceparentOf(request))) ?? [];
      expect(headerTrace).toBe(spans[i]?.spanContext().traceId);
      expect(headerSpan).toBe(spans[i]?.spanContext().spanId);
    });
    // Both attempts, the retry included, are children of the caller's active span.
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.parentSpanContext?.spanId).toBe(spanId);
    }
  });

  it("a request sent inside an active span carries that span's trace in traceparent", async () => {
    const { traceId, spanId } = await inSpan('checkout', async (span) => {
      await t.service.sendEndSession(VISITOR);
      return span.spanContext();
    });
    const header = String(traceparentOf(t.standIn.requests[0]));
    expect(header).toMatch(TRACEPARENT);
    expect(TRACEPARENT.exec(header)?.[1]).toBe(traceId);
    const spans = spansTo(t);
    expect(spans).toHaveLength(1);
    expect(spans[0]?.parentSpanContext?.spanId).toBe(spanId);
  });

  it('without an active span, each attempt is still a span (a root of its own)', async () => {
    await t.service.sendEndSession(VISITOR);
    const spans = spansTo(t);
    expect(spans).toHaveLength(1);
    expect(spans[0]?.parentSpanContext).toBeUndefined();
    expect(traceparentOf(t.standIn.requests[0])).toMatch(TRACEPARENT);
  });
});
