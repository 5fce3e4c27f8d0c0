/**
 * @internal The keys of payments sent, or on their way, within a window: bounded in time and in
 * memory. A key is remembered for `windowMs` or until `maxKeys` newer keys came, whichever is first.
 * Time comes from the caller, so it is unit-tested without waiting.
 */
export class DedupeWindow {
  /** Key → when it was added; in insertion order, so the oldest is first. */
  private readonly keys = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** Adds `key` and returns true, or returns false when it is already in the window. */
  claim(key: string): boolean {
    const now = this.now();
    this.evict(now);
    if (this.keys.has(key)) return false;
    this.keys.set(key, now);
    if (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    return true;
  }

  /** Forgets `key`: its payment was not delivered, so sending it again is no duplicate. */
  release(key: string): void {
    this.keys.delete(key);
  }

  /** How many keys are remembered now. */
  get size(): number {
    return this.keys.size;
  }

  private evict(now: number): void {
    for (const [key, addedAt] of this.keys) {
      if (now - addedAt < this.windowMs) return;
      this.keys.delete(key);
    }
  }
}
