import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';

/* The stand-in's own behaviour that tests of apps rely on: its failure messages, capacity, counts. */

const PATH = '/api/v1/notifications/non-esales-click';
const BODY = JSON.stringify({ market: 'UK', customerKey: 'c', sessionKey: 's', productKey: 'p' });

const standIns: ElevateStandIn[] = [];
afterEach(async () => {
  for (const standIn of standIns.splice(0)) await standIn.close();
});
async function start(options: Parameters<typeof ElevateStandIn.start>[0] = {}) {
  const standIn = await ElevateStandIn.start(options);
  standIns.push(standIn);
  return standIn;
}
const post = (standIn: ElevateStandIn) =>
  request(standIn.url + PATH, {
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json' },
  }).then(async (response) => {
    await response.body.dump();
    return response.statusCode;
  });

describe('ElevateStandIn', () => {
  it('says what waitForRequests waited for, and hints at the bot filter when nothing came', async () => {
    const standIn = await start();
    await expect(standIn.waitForRequests(1, 50)).rejects.toThrow(
      /^stand-in: waited 50 ms for 1 answered request\(s\), received 0\. A tracked click is skipped when the request has no browser User-Agent \(supertest sends none\)/,
    );
  });

  it('names the latest requests it did receive', async () => {
    const standIn = await start();
    expect(await post(standIn)).toBe(204);
    await expect(standIn.waitForRequests(2, 50)).rejects.toThrow(
      `received 1 (latest: POST ${PATH} → 204)`,
    );
  });

  it('answers at most `capacity` requests at once and counts what it held', async () => {
    const standIn = await start({ capacity: 2 });
    standIn.respondWith(() => ({ status: 204, delayMs: 50 }));
    const statuses = await Promise.all(Array.from({ length: 6 }, () => post(standIn)));
    expect(statuses).toEqual([204, 204, 204, 204, 204, 204]);
    // Six were open at once (four of them waiting); the latency of the last includes the wait.
    expect(standIn.maxInFlight).toBe(6);
    expect(standIn.inFlight).toBe(0);
    const latencies = standIn.requests.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
    expect(latencies[5]).toBeGreaterThanOrEqual(140);
  });
});
