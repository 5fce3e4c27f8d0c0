import { ElevateStandIn, type StandInAnswer } from '../../lib/testing/elevate-stand-in.js';
import { serveCommands } from '../ipc.js';

/*
 * The local stand-in for the Elevate cluster, in a process of its own so its CPU never counts as the
 * app's. It is the package's own `ElevateStandIn` (Elevate's documented answers), told to answer
 * late or to refuse connections on command.
 */

let standIn = await ElevateStandIn.start({ maxRecorded: 100 });
const port = Number(new URL(standIn.url).port);
let delayMs = 0;
let received = 0;
let accepted = 0;

function answerWith(this: void, elevate: () => StandInAnswer): StandInAnswer {
  received++;
  const answer = elevate();
  if (typeof answer !== 'object') return answer;
  if (answer.status >= 200 && answer.status < 300) accepted++;
  return delayMs > 0 ? { ...answer, delayMs } : answer;
}

function listen(instance: ElevateStandIn): void {
  instance.respondWith((_request, elevate) => answerWith(elevate));
}
listen(standIn);

serveCommands(
  {
    /** Answer every request this many milliseconds late (0: at once). */
    delay: (ms) => {
      delayMs = Number(ms);
    },
    counts: () => ({ received, accepted }),
    /** Stop listening: connections are refused until `restore`. */
    outage: async () => {
      await standIn.close();
    },
    restore: async () => {
      standIn = await ElevateStandIn.start({ maxRecorded: 100, port });
      listen(standIn);
    },
    close: async () => {
      await standIn.close().catch(() => undefined);
      setImmediate(() => process.exit(0));
    },
  },
  { url: standIn.url },
);
