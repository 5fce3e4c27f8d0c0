import { describe, expect, it } from '@jest/globals';
import { DedupeWindow } from '../../lib/delivery/dedupe-window.js';

describe('DedupeWindow (injected clock)', () => {
  const windowAt = (windowMs: number, maxKeys: number) => {
    let now = 0;
    const window = new DedupeWindow(windowMs, maxKeys, () => now);
    return { window, advance: (ms: number) => (now += ms) };
  };

  it('claims a key once within the window', () => {
    const { window } = windowAt(1_000, 10);
    expect(window.claim('o-1')).toBe(true);
    expect(window.claim('o-1')).toBe(false);
    expect(window.claim('o-2')).toBe(true);
  });

  it('forgets a key once the window has passed, and not a millisecond before', () => {
    const { window, advance } = windowAt(1_000, 10);
    window.claim('o-1');
    advance(999);
    expect(window.claim('o-1')).toBe(false);
    advance(1);
    expect(window.claim('o-1')).toBe(true);
  });

  it('releases a key on request (a payment that was not delivered)', () => {
    const { window } = windowAt(1_000, 10);
    window.claim('o-1');
    window.release('o-1');
    expect(window.claim('o-1')).toBe(true);
  });

  it('keeps at most maxKeys, letting the oldest go first', () => {
    const { window, advance } = windowAt(60_000, 3);
    for (const key of ['a', 'b', 'c', 'd']) {
      window.claim(key);
      advance(1);
    }
    expect(window.size).toBe(3);
    expect(window.claim('a')).toBe(true);
    expect(window.claim('d')).toBe(false);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const { window, advance } = windowAt(60_000, 100);
    for (let i = 0; i < 10_000; i++) {
      window.claim(`o-${i}`);
      advance(1);
    }
    expect(window.size).toBe(100);
  });
});
