import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  constants as fsConstants,
  createWriteStream,
  mkdtempSync,
  rmSync,
} from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * P10's Redis: a throwaway `redis-server` on a free loopback port, without persistence
 * (`--save "" --appendonly no`, a fresh temporary `--dir`), `noeviction` as BullMQ wants. The bench
 * cannot import test/support, so this is its own small copy: spawn, PING, raw RESP commands (no
 * client library, so the bench's Redis figures never go through what it measures), stop. The server
 * never outlives the bench: `stop()` in the measure's `finally`, a process 'exit' hook, and a reaper
 * (a detached `sh` that SIGKILLs it when the bench's end of a pipe closes, however the bench died).
 */

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

/** Whether `redis-server` is an executable somewhere on the PATH. */
export function redisServerOnPath(): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'redis-server'), fsConstants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Resp = string | number | null | Resp[];

/** One RESP value at `offset`, or undefined while the buffer does not hold all of it yet. */
function parse(buffer: Buffer, offset = 0): { value: Resp | Error; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    const items: Resp[] = [];
    let end = next;
    for (let i = 0; i < count; i++) {
      const item = parse(buffer, end);
      if (!item) return undefined;
      if (item.value instanceof Error) return item;
      items.push(item.value);
      end = item.end;
    }
    return { value: items, end };
  }
  return { value: new Error(`unexpected RESP reply: ${line}`), end: next };
}

/** One command over a fresh raw TCP connection. */
export function respCommand(
  port: number,
  args: readonly string[],
  timeoutMs = 2_000,
): Promise<Resp> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const socket = createConnection({ host: HOST, port });
    const finish = (error: Error | undefined, value?: Resp) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`redis on port ${port} did not answer ${args[0]} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () =>
      socket.write(
        `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parse(buffer);
      if (!reply) return;
      if (reply.value instanceof Error) finish(reply.value);
      else finish(undefined, reply.value);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`redis on port ${port} closed before answering`)));
  });
}

const live = new Set<ChildProcess>();
let exitHooked = false;

export class BenchRedis {
  readonly url: string;
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    this.url = `redis://${HOST}:${port}`;
  }

  /** Spawns a redis-server (output appended to `logFile`) and resolves once it answers PING. */
  static async start(logFile: string): Promise<BenchRedis> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-esales-bench-redis-'));
    const settings: [string, string][] = [
      ['port', String(port)],
      ['bind', HOST],
      ['save', ''],
      ['appendonly', 'no'],
      ['dir', dir],
      ['daemonize', 'no'],
      ['maxmemory-policy', 'noeviction'],
      ['loglevel', 'warning'],
    ];
    const child = spawn(
      'redis-server',
      settings.flatMap(([name, value]) => [`--${name}`, value]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(child);
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    const redis = new BenchRedis(port, child, dir);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        await redis.stop();
        throw new Error(
          `redis-server on port ${port} did not start (${spawnError?.message ?? child.exitCode}); see ${logFile}`,
        );
      }
      if (await redis.ping()) return redis;
      if (Date.now() > deadline) {
        await redis.stop();
        throw new Error(`redis-server on port ${port} did not answer PING in 10 s; see ${logFile}`);
      }
      await sleep(20);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  command(...args: string[]): Promise<Resp> {
    return respCommand(this.port, args);
  }

  async ping(): Promise<boolean> {
    try {
      return (await respCommand(this.port, ['PING'], 500)) === 'PONG';
    } catch {
      return false;
    }
  }

  /** `used_memory` of `INFO memory`, in bytes. */
  async usedMemory(): Promise<number> {
    const info = await this.command('INFO', 'memory');
    const match = /^used_memory:(\d+)/m.exec(String(info));
    if (!match) throw new Error('INFO memory has no used_memory');
    return Number(match[1]);
  }

  /** SIGTERM and wait for the exit (SIGKILL after 10 s); a no-op once it has exited. */
  async stop(): Promise<void> {
    if (this.running) {
      const exited = once(this.child, 'exit');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function track(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  const reaper =
    child.pid === undefined
      ? undefined
      : spawn(
          'sh',
          ['-c', 'cat >/dev/null 2>&1; kill -9 "$1" 2>/dev/null', 'reaper', String(child.pid)],
          {
            stdio: ['pipe', 'ignore', 'ignore'],
            detached: true,
          },
        );
  reaper?.on('error', () => undefined);
  reaper?.stdin?.on('error', () => undefined);
  reaper?.unref();
  (reaper?.stdin as { unref?: () => void } | null | undefined)?.unref?.();
  child.once('exit', () => {
    live.delete(child);
    reaper?.kill('SIGKILL');
  });
}
