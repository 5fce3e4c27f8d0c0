import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutputLines, exitOf, stopChild, trackChild } from './child-processes.js';

/** What `start()` says when the binary is missing: tests must fail, never skip quietly. */
export const REDIS_NOT_INSTALLED = 'redis-server is not installed: apt-get install -y redis-server';

const HOST = '127.0.0.1';
/** How long a redis-server may take to answer PING after being spawned. */
const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 20;
/** How long `stop()` waits after SIGTERM before it SIGKILLs. */
const STOP_FALLBACK_MS = 10_000;

/** Options of `RedisServer.start()`. */
export interface RedisServerOptions {
  /** Port to listen on (127.0.0.1); a free one is picked when absent. */
  readonly port?: number;
}

/** A RESP reply: simple string, integer, bulk string (null when nil) or array. */
export type RespValue = string | number | null | RespValue[];

/** A RESP error reply (`-ERR …`). */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
}

/** Whether `redis-server` is an executable somewhere on the PATH. */
function redisServerOnPath(): boolean {
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

/** A free loopback port: bind 127.0.0.1:0, read the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Parses one RESP value at `offset`; undefined while the buffer does not hold all of it yet. */
function parseResp(
  buffer: Buffer,
  offset = 0,
): { value: RespValue | RedisReplyError; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RedisReplyError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, end);
        if (!item) return undefined;
        if (item.value instanceof RedisReplyError) return item;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      return { value: new RedisReplyError(`unexpected RESP reply: ${line}`), end: next };
  }
}

/**
 * Sends one command over a fresh raw TCP connection and resolves with the reply; no client library,
 * so the support code does not depend on what it helps test.
 */
export function respCommand(
  port: number,
  args: readonly string[],
  timeoutMs = 2_000,
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const socket = createConnection({ host: HOST, port });
    const finish = (error: Error | undefined, value?: RespValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () =>
        finish(new Error(`redis at ${HOST}:${port} did not answer ${args[0]} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parseResp(buffer);
      if (!reply) return;
      if (reply.value instanceof RedisReplyError) finish(reply.value);
      else finish(undefined, reply.value);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`redis at ${HOST}:${port} closed before answering`)));
  });
}

/** Whether a redis-server on `port` answers PING with +PONG. */
async function answersPing(port: number): Promise<boolean> {
  try {
    return (await respCommand(port, ['PING'], 500)) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * A real `redis-server` (the Debian package's binary) in a child process on a loopback port of its
 * own, without persistence (`--save "" --appendonly no`, a fresh temporary `--dir`), `noeviction`
 * as BullMQ wants. Every test gets its own, so nothing is shared between specs and no system Redis
 * is needed. Children are tracked: they are killed when the test process exits or dies.
 */
export class RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  #child: ChildProcess | undefined;
  #dir: string | undefined;
  #output = new OutputLines();

  private constructor(readonly port: number) {
    this.url = `redis://${HOST}:${port}`;
  }

  /**
   * Spawns a redis-server and resolves once it answers PING (within 10 s). Without `port`, picks a
   * free one (and retries with another should it be taken in between).
   * @throws Error "redis-server is not installed: …" when the binary is not on the PATH.
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (!redisServerOnPath()) throw new Error(REDIS_NOT_INSTALLED);
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()));
      try {
        await server.spawn();
        return server;
      } catch (error) {
        const portTaken = /Address already in use/i.test(server.#output.tail());
        if (options.port !== undefined || !portTaken || attempt >= 3) throw error;
      }
    }
  }

  /** The running redis-server's pid; undefined after `stop()` / `kill()`. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** Whether the child is alive (spawned and not exited). */
  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** What redis-server printed (stdout and stderr), across restarts. */
  logs(): string[] {
    return [...this.#output.lines];
  }

  /** SIGTERM (a clean shutdown) and wait for the exit; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  /** SIGKILL (a crash: no shutdown at all) and wait for the exit. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /**
   * SIGSTOP: the server keeps its connections open but answers nothing (a hung or partitioned
   * Redis). `resume()` lets it go on with what it was sent meanwhile.
   */
  pause(): void {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGSTOP');
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    if (this.pid !== undefined) process.kill(this.pid, 'SIGCONT');
  }

  /** Starts a redis-server again on the same port (stopping the running one first) and waits for PING. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.spawn();
  }

  /** Sends one command (raw RESP over a fresh connection) and resolves with the reply. */
  command(...args: string[]): Promise<RespValue> {
    return respCommand(this.port, args);
  }

  /** Whether it answers PING now. */
  ping(): Promise<boolean> {
    return answersPing(this.port);
  }

  /** The raw text of `INFO <section>` (e.g. `used_memory:…` lines for 'memory'). */
  async info(section?: string): Promise<string> {
    const reply = await this.command(...(section ? ['INFO', section] : ['INFO']));
    if (typeof reply !== 'string') throw new Error(`INFO answered ${JSON.stringify(reply)}`);
    return reply;
  }

  /** FLUSHALL: empties every database. */
  async flushAll(): Promise<void> {
    await this.command('FLUSHALL');
  }

  private async spawn(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-esales-redis-'));
    this.#dir = dir;
    // The arguments are passed as they are (no shell): `--save ""` is an empty argument.
    const settings: [string, string][] = [
      ['port', String(this.port)],
      ['bind', HOST],
      ['save', ''],
      ['appendonly', 'no'],
      ['dir', dir],
      ['daemonize', 'no'],
      ['protected-mode', 'yes'],
      ['maxmemory-policy', 'noeviction'],
      ['loglevel', 'warning'],
    ];
    const args = settings.flatMap(([name, value]) => [`--${name}`, value]);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let spawnError: Error | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error.code === 'ENOENT' ? new Error(REDIS_NOT_INSTALLED) : error;
    });
    this.#child = child;
    trackChild(child);
    this.#output.follow(child.stdout);
    this.#output.follow(child.stderr);
    child.once('exit', () => rmSync(dir, { recursive: true, force: true }));

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}) ` +
            `before answering PING:\n${this.#output.tail()}`,
        );
      }
      if (await answersPing(this.port)) return;
      if (Date.now() > deadline) {
        await stopChild(child, 'SIGKILL', 0);
        throw new Error(
          `redis-server on port ${this.port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n` +
            this.#output.tail(),
        );
      }
      await sleep(POLL_MS);
    }
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child) return;
    // A paused server takes no SIGTERM until it runs again.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    await stopChild(child, signal, STOP_FALLBACK_MS);
    await exitOf(child);
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}
