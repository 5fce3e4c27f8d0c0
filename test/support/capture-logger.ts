import type { LoggerService } from '@nestjs/common';

/** One line a Nest logger was asked to print. */
export interface CapturedLog {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/** A Nest `LoggerService` that keeps every line, so tests can assert what was (and wasn't) logged. */
export class CaptureLogger implements LoggerService {
  readonly lines: CapturedLog[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.push('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.push('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.push('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.push('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.push('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.push('fatal', message, rest);
  }

  /** Lines logged with the given context. */
  from(context: string): CapturedLog[] {
    return this.lines.filter((line) => line.context === context);
  }

  /** Everything logged, as one string, for "never contains" assertions. */
  text(): string {
    return this.lines
      .map((line) => `${line.level} [${line.context ?? ''}] ${line.message}`)
      .join('\n');
  }

  private push(level: CapturedLog['level'], message: unknown, rest: unknown[]): void {
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const text =
      message instanceof Error ? `${message.message}\n${message.stack ?? ''}` : String(message);
    this.lines.push({ level, message: text, ...(context !== undefined ? { context } : {}) });
  }
}
