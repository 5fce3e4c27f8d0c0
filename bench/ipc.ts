import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/*
 * The bench's processes talk over Node's IPC channel: the orchestrator sends `{ id, command, args }`,
 * a child answers `{ id, result }` or `{ id, error }`. Children announce themselves with `{ ready }`.
 */

type Handler = (args: unknown) => unknown;

interface Request {
  id: number;
  command: string;
  args: unknown;
}

interface Reply {
  id?: number;
  result?: unknown;
  error?: string;
  ready?: unknown;
}

/** In a child: answers the orchestrator's commands, then reports `ready`. */
export function serveCommands(handlers: Record<string, Handler>, ready: unknown): void {
  const send = (reply: Reply) => process.send?.(reply);
  process.on('message', (message: Request) => {
    const handler = handlers[message.command];
    if (!handler) {
      send({ id: message.id, error: `unknown command ${message.command}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => send({ id: message.id, result }),
        (error: unknown) => send({ id: message.id, error: String(error) }),
      );
  });
  // The orchestrator going away ends the child, whatever it was doing.
  process.on('disconnect', () => process.exit(0));
  send({ ready });
}

/** In the orchestrator: one child process and its command channel. */
export class Child<Ready = unknown> {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
    readonly ready: Ready,
  ) {
    process.on('message', (reply: Reply) => {
      if (reply.id === undefined) return;
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) waiter?.reject(new Error(`${name}: ${reply.error}`));
      else waiter?.resolve(reply.result);
    });
    process.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) {
        waiter.reject(new Error(`${name} exited (${code ?? signal}) during a command`));
      }
      this.pending.clear();
    });
  }

  /**
   * Forks `file` and resolves once it reported ready. Its stdout and stderr go to `logFile`, so
   * its logs never mix with the report.
   */
  static async start<Ready>(
    name: string,
    file: string,
    args: string[],
    options: { execArgv?: string[]; logFile: string },
  ): Promise<Child<Ready>> {
    const child = fork(file, args, {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const ready = new Promise<Ready>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (reply.ready === undefined) return;
        child.off('message', onMessage);
        resolve(reply.ready as Ready);
      };
      child.on('message', onMessage);
      child.once('exit', (code) =>
        reject(new Error(`${name} exited (${code}) before it was ready; see ${options.logFile}`)),
      );
    });
    return new Child<Ready>(name, child, await ready);
  }

  call<T>(command: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ id, command, args } satisfies Request);
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /**
   * Asks the child to close its app and exit normally (so `--cpu-prof` writes its profile), and
   * waits for it; SIGKILL after 15 s.
   */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, 'exit');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    this.call('close').catch(() => this.process.kill('SIGTERM'));
    await exited;
    clearTimeout(timer);
  }
}
