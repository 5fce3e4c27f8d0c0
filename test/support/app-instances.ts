import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EsalesStats } from '../../lib/delivery/esales-stats.interface.js';
import { OutputLines, exitOf, stopChild, trackChild } from './child-processes.js';

/*
 * Several real app instances in child processes, as a deployment runs them: each is
 * test/bullmq/instance/main.ts (a Nest app on Express configured from ESALES_* variables), compiled
 * together with lib/ by `buildInstanceBundle()` and started by `AppInstance.start()`.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_ROOT = join(ROOT, '.test-build');
const INSTANCE_TSCONFIG = 'test/bullmq/instance/tsconfig.json';
/** The instance's entry inside a bundle. */
const INSTANCE_MAIN = join('test', 'bullmq', 'instance', 'main.js');
/** Written last into a bundle: a directory without it is a build that did not finish. */
const COMPLETE_MARKER = '.complete';
/** Bundles of other sources older than this (an hour) are removed when a new one is built. */
const STALE_BUNDLE_MS = 60 * 60 * 1000;

const READY_TIMEOUT_MS = 20_000;
const STOP_FALLBACK_MS = 15_000;
const LISTENING = /^LISTENING (\d+)$/;

/** A browser's user agent: click tracking skips requests without one as bots. */
export const INSTANCE_BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** The sources a bundle is built from, hashed: a change to any of them means a new bundle. */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
  for (const dir of ['lib', 'test/bullmq/instance']) {
    const entries = await readdir(join(ROOT, dir), { recursive: true });
    for (const entry of entries) {
      if (entry.endsWith('.ts') || entry.endsWith('.json')) files.push(join(dir, entry));
    }
  }
  files.sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function runTsc(outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tsc = spawn(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', INSTANCE_TSCONFIG, '--outDir', outDir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    trackChild(tsc);
    let output = '';
    tsc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tsc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tsc.once('error', reject);
    tsc.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`tsc -p ${INSTANCE_TSCONFIG} failed (exit ${code}):\n${output}`));
    });
  });
}

async function removeStaleBundles(keep: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(BUILD_ROOT).catch(() => [] as string[])) {
    if (!name.startsWith('instances-') || name === keep) continue;
    const dir = join(BUILD_ROOT, name);
    const info = await stat(dir).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_BUNDLE_MS) {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function build(): Promise<string> {
  const name = `instances-${await sourcesHash()}`;
  const bundle = join(BUILD_ROOT, name);
  if (existsSync(join(bundle, COMPLETE_MARKER))) return bundle;
  await mkdir(BUILD_ROOT, { recursive: true });
  // Built aside, then renamed into place: Jest workers building at once never see half a bundle.
  const scratch = `${bundle}.tmp-${process.pid}-${Date.now()}`;
  try {
    await runTsc(scratch);
    await writeFile(join(scratch, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    try {
      await rename(scratch, bundle);
    } catch (error) {
      // Another worker won the race (or a stale, unfinished directory is in the way).
      if (!existsSync(join(bundle, COMPLETE_MARKER))) {
        await rm(bundle, { recursive: true, force: true });
        await rename(scratch, bundle).catch(() => {
          throw error;
        });
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await removeStaleBundles(name);
  return bundle;
}

let building: Promise<string> | undefined;

/**
 * Compiles lib/ and test/bullmq/instance/main.ts (tsc, test/bullmq/instance/tsconfig.json) into
 * `<repo>/.test-build/instances-<hash of the sources>/`, under the repo so the output resolves its
 * node_modules, and resolves with that directory. Memoized: per Jest worker (per test file's module
 * registry) in memory, and across workers and runs on disk by the hash, so unchanged sources are
 * compiled once. Rejects with tsc's output when it fails.
 */
export function buildInstanceBundle(): Promise<string> {
  building ??= build().catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

/** What `AppInstance.get()` / `post()` answer. */
export interface InstanceResponse {
  readonly status: number;
  /** Lower-case names; repeated headers (set-cookie) joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const ENV_PASSED = /^(PATH|HOME|NODE_.*)$/;

/** Every live instance, for `stopAllInstances()`. */
const instances = new Set<AppInstance>();

/**
 * One app instance (test/bullmq/instance/main.js of a bundle) in a child process: its own Nest app
 * on Express, on a free loopback port, configured by the environment it was started with. Tracked,
 * so it is killed when the test process exits or dies.
 */
export class AppInstance {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #output: OutputLines;

  private constructor(child: ChildProcess, output: OutputLines, port: number) {
    this.#child = child;
    this.#output = output;
    this.url = `http://127.0.0.1:${port}`;
    instances.add(this);
    child.once('exit', () => instances.delete(this));
  }

  /**
   * Spawns `node <bundleDir>/test/bullmq/instance/main.js` with PATH, HOME and NODE_* of this
   * process plus `env` (and PORT=0), and resolves once it printed `LISTENING <port>` (within 20 s).
   * Rejects with the tail of its output when it exits before that or takes too long.
   */
  static async start(bundleDir: string, env: Record<string, string> = {}): Promise<AppInstance> {
    const main = join(bundleDir, INSTANCE_MAIN);
    if (!existsSync(main)) {
      throw new Error(
        `${relative(ROOT, main)} does not exist: build it with buildInstanceBundle()`,
      );
    }
    const passed = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => ENV_PASSED.test(entry[0]) && entry[1] !== undefined,
      ),
    );
    const child = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: { ...passed, NO_COLOR: '1', ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    const output = new OutputLines(20_000);
    let port: number | undefined;
    const listening = new Promise<number>((resolve) =>
      output.follow(child.stdout, (line) => {
        const match = port === undefined ? LISTENING.exec(line) : null;
        if (match) resolve((port = Number(match[1])));
      }),
    );
    output.follow(child.stderr);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      listening,
      new Promise<Error>((resolve) =>
        child.once('error', (error) =>
          resolve(new Error(`could not start ${main}: ${error.message}`)),
        ),
      ),
      exitOf(child).then(
        ({ code, signal }) =>
          new Error(
            `app instance exited (${code ?? signal}) before listening:\n${output.tail(60)}`,
          ),
      ),
      new Promise<Error>((resolve) => {
        timer = setTimeout(
          () =>
            resolve(
              new Error(
                `app instance did not listen within ${READY_TIMEOUT_MS} ms:\n${output.tail(60)}`,
              ),
            ),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    clearTimeout(timer);
    if (outcome instanceof Error) {
      await stopChild(child, 'SIGKILL', 0);
      throw outcome;
    }
    return new AppInstance(child, output, outcome);
  }

  /** The instance's pid. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * The local ports of the instance's TCP sockets right now (Linux only: its fds in /proc, looked up
   * in /proc/net/tcp and tcp6). They are the `remotePort`s an `ElevateStandIn` records for this
   * instance's requests, so a test can tell which instance has which request out.
   */
  async localTcpPorts(): Promise<Set<number>> {
    const inodes = new Set<string>();
    const fds = await readdir(`/proc/${this.pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${this.pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode) inodes.add(inode);
    }
    const ports = new Set<number>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const text = await readFile(table, 'utf8').catch(() => '');
      for (const line of text.split('\n').slice(1)) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        const columns = line.trim().split(/\s+/);
        const port = columns[1]?.split(':')[1];
        if (port && columns[9] && inodes.has(columns[9])) ports.add(parseInt(port, 16));
      }
    }
    return ports;
  }

  /** Every line it printed so far (stdout and stderr; Nest's logs are on stdout). */
  logs(): string[] {
    return [...this.#output.lines];
  }

  /**
   * SIGTERM (Nest's shutdown hooks close the app and drain the module) and wait for the exit;
   * SIGKILL after 15 s.
   */
  async stop(): Promise<void> {
    await stopChild(this.#child, 'SIGTERM', STOP_FALLBACK_MS);
  }

  /** SIGKILL (a crash: no shutdown hooks, nothing drained) and wait for the exit. */
  async kill(): Promise<void> {
    await stopChild(this.#child, 'SIGKILL', 0);
  }

  /**
   * GET `path` (redirects not followed), with a browser's user agent unless `headers` give one, so
   * click tracking does not skip it as a bot.
   */
  get(path: string, headers: Record<string, string> = {}): Promise<InstanceResponse> {
    return this.request('GET', path, headers);
  }

  /** POST `path` (no body; the test routes take query parameters). */
  post(path: string, headers: Record<string, string> = {}): Promise<InstanceResponse> {
    return this.request('POST', path, headers);
  }

  /** POST `path` and parse the JSON answer; rejects unless the status is 2xx. */
  async postJson<T = unknown>(path: string): Promise<T> {
    return this.json<T>(await this.post(path), 'POST', path);
  }

  /** `GET /_test/stats`: the instance's `EsalesNotificationService.getStats()`. */
  async stats(): Promise<EsalesStats> {
    return this.json<EsalesStats>(await this.get('/_test/stats'), 'GET', '/_test/stats');
  }

  /** `POST /_test/flush`: whether the instance's queue went idle within 5 s. */
  async flush(): Promise<boolean> {
    return (await this.postJson<{ idle: boolean }>('/_test/flush')).idle;
  }

  private async request(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<InstanceResponse> {
    const response = await fetch(new URL(path, this.url), {
      method,
      redirect: 'manual',
      headers: { 'user-agent': INSTANCE_BROWSER_UA, ...headers },
    });
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    };
  }

  private json<T>(response: InstanceResponse, method: string, path: string): T {
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`${method} ${path} answered ${response.status}: ${response.body}`);
    }
    return JSON.parse(response.body) as T;
  }
}

/** Stops (SIGTERM) every instance still running: for an `afterAll`. */
export async function stopAllInstances(): Promise<void> {
  await Promise.all([...instances].map((instance) => instance.stop()));
}
