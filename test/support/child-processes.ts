import { spawn, type ChildProcess } from 'node:child_process';

/*
 * Children of the test process (redis-server, app instances) must never outlive it. Two guards:
 * - a process 'exit' listener that SIGKILLs every live child. Inside Jest it is registered on the
 *   test file's sandboxed copy of `process`, which never emits 'exit', so it only helps outside Jest;
 * - a reaper per child: a tiny detached `sh` whose stdin is a pipe from this process. When this
 *   process dies in any way (SIGKILL included), the kernel closes the pipe, `cat` sees EOF and the
 *   reaper SIGKILLs the child. When the child exits first, the reaper is killed, so it never signals
 *   a pid that may have been reused.
 */

const live = new Set<ChildProcess>();
let exitHooked = false;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Starts the reaper that SIGKILLs `child` should this process die before it. */
function startReaper(child: ChildProcess): ChildProcess | undefined {
  if (child.pid === undefined) return undefined;
  const reaper = spawn(
    'sh',
    ['-c', 'cat >/dev/null 2>&1; kill -9 "$1" 2>/dev/null', 'reaper', String(child.pid)],
    // Detached (its own process group): a Ctrl-C to the test run must not kill it before it acts.
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  reaper.on('error', () => undefined);
  reaper.stdin?.on('error', () => undefined);
  // Neither the reaper nor its pipe may keep a Jest worker alive.
  reaper.unref();
  (reaper.stdin as { unref?: () => void } | null)?.unref?.();
  return reaper;
}

/**
 * Tracks a child so that it is SIGKILLed if the test process exits or dies first (see above).
 * Call it right after `spawn()`.
 */
export function trackChild(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', killAll);
  }
  live.add(child);
  const reaper = startReaper(child);
  child.once('exit', () => {
    live.delete(child);
    reaper?.kill('SIGKILL');
  });
}

/** How a child ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Resolves once `child` has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Sends `signal` and waits for the exit; SIGKILLs after `fallbackMs` if it has not exited by then.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  fallbackMs: number,
): Promise<ChildExit> {
  const exited = exitOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), fallbackMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last `max` lines of a child's output streams. */
export class OutputLines {
  readonly lines: string[] = [];
  readonly #partial = new Map<NodeJS.ReadableStream, string>();

  constructor(private readonly max = 2_000) {}

  /** Reads `stream` line by line; calls `onLine` for every complete line. */
  follow(stream: NodeJS.ReadableStream | null, onLine?: (line: string) => void): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = ((this.#partial.get(stream) ?? '') + chunk).split('\n');
      this.#partial.set(stream, parts.pop() ?? '');
      for (const line of parts) this.push(line.replace(/\r$/, ''), onLine);
    });
    stream.on('end', () => {
      const rest = this.#partial.get(stream);
      this.#partial.delete(stream);
      if (rest) this.push(rest, onLine);
    });
  }

  /** The last `count` lines, one string. */
  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }

  private push(line: string, onLine?: (line: string) => void): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    onLine?.(line);
  }
}
