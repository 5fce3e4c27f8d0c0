import { ElevateStandIn } from '../../lib/testing/elevate-stand-in.js';
import { serveCommands } from '../ipc.js';

/*
 * P7–P9's cluster: the package's own `ElevateStandIn` in a process of its own, answering late
 * (`delayMs`), serving only `capacity` requests at once (the rest wait, so latency rises with load,
 * as an overloaded cluster's does), or answering every second request with a 503 (`flaky`).
 */

const standIn = await ElevateStandIn.start({ maxRecorded: 200_000 });
let delayMs = 0;
let flaky = false;
let count = 0;

standIn.respondWith((_request, elevate) => {
  const answer = flaky && count++ % 2 === 0 ? { status: 503, body: 'busy' } : elevate();
  if (typeof answer !== 'object') return answer;
  return delayMs > 0 ? { ...answer, delayMs } : answer;
});

const percentileOf = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : Number.NaN;

serveCommands(
  {
    /** Sets the behaviour and forgets what was recorded. */
    configure: (args) => {
      const options = args as { delayMs?: number; capacity?: number; flaky?: boolean };
      delayMs = options.delayMs ?? 0;
      flaky = options.flaky ?? false;
      count = 0;
      standIn.setCapacity(options.capacity ?? Infinity);
      standIn.clear();
    },
    /** What it saw since `configure`, or since `sinceMs` (epoch) for the latencies. */
    stats: (args) => {
      const sinceMs = (args as { sinceMs?: number } | undefined)?.sinceMs ?? 0;
      const latencies = standIn.requests
        .filter((r) => r.latencyMs !== undefined && r.receivedAt.getTime() >= sinceMs)
        .map((r) => r.latencyMs!)
        .sort((a, b) => a - b);
      const ids = new Set<string>();
      let accepted = 0;
      for (const request of standIn.accepted) {
        accepted++;
        ids.add((request.body as { id: string }).id);
      }
      return {
        received: standIn.requests.length,
        accepted,
        distinctAccepted: ids.size,
        maxInFlight: standIn.maxInFlight,
        latencyP50: percentileOf(latencies, 0.5),
        latencyP99: percentileOf(latencies, 0.99),
      };
    },
    close: async () => {
      await standIn.close().catch(() => undefined);
      setImmediate(() => process.exit(0));
    },
  },
  { url: standIn.url },
);
