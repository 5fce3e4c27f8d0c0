import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RateLimitedLog } from '../../lib/common/rate-limited-log.js';

class Lines extends Logger {
  readonly lines: string[] = [];
  override warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

describe('RateLimitedLog', () => {
  it('logs the first warning of a kind, then one summary with the count when the interval ends', async () => {
    const logger = new Lines();
    const log = new RateLimitedLog(logger, 100);
    for (let i = 1; i <= 5; i++) log.warn('queue-full', () => `dropped ${i}`);
    log.warn('other', () => 'other kind');
    expect(logger.lines).toEqual(['dropped 1', 'other kind']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(logger.lines).toEqual([
      'dropped 1',
      'other kind',
      'dropped 5 (4 more like this in the last 100 ms, this being the latest)',
    ]);
  });

  it('reports what is held back at once on flush()', () => {
    const logger = new Lines();
    const log = new RateLimitedLog(logger, 60_000);
    log.warn('k', () => 'a');
    log.warn('k', () => 'b');
    log.flush();
    expect(logger.lines).toEqual([
      'a',
      'b (1 more like this in the last 60 s, this being the latest)',
    ]);
    log.flush();
    expect(logger.lines).toHaveLength(2);
  });

  it('logs again at once after a quiet interval', () => {
    let now = 0;
    const logger = new Lines();
    const log = new RateLimitedLog(logger, 100, () => now);
    log.warn('k', () => 'first');
    now = 150;
    log.warn('k', () => 'second');
    expect(logger.lines).toEqual(['first', 'second']);
  });
});
