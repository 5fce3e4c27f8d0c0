import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { Clock } from './clock.js';
import type { EsalesBreakerState } from './esales-stats.interface.js';

export { BrokenCircuitError } from 'cockatiel';

const BREAKER_STATES: Record<CircuitState, EsalesBreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * @internal Whether one cluster may be sent another attempt now: its circuit breaker (cockatiel's
 * `ConsecutiveBreaker`: `threshold` consecutive failed attempts open it, one probe after `cooldownMs`
 * closes it) and the hold a `Retry-After` on a 429 or 503 puts on the whole cluster.
 *
 * The engine asks `mayStart` before taking a notification from the queue, so notifications wait in
 * the queue while the breaker is open instead of each being refused by it.
 */
export class CircuitGate {
  private readonly breaker: CircuitBreakerPolicy;
  private openedAt = 0;
  private heldUntil = 0;

  constructor(
    threshold: number,
    private readonly cooldownMs: number,
    private readonly clock: Clock,
    onChange: (state: EsalesBreakerState) => void,
  ) {
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: cooldownMs,
      breaker: new ConsecutiveBreaker(threshold),
    });
    this.breaker.onBreak(() => {
      this.openedAt = clock.now();
      onChange('open');
    });
    this.breaker.onReset(() => onChange('closed'));
  }

  get state(): EsalesBreakerState {
    return BREAKER_STATES[this.breaker.state];
  }

  /** On the clock: until when new attempts are held back by `Retry-After`; 0 when they are not. */
  get holdEnd(): number {
    return this.heldUntil > this.clock.now() ? this.heldUntil : 0;
  }

  /**
   * Closed and not held: yes. Open: one probe, once the cooldown is over, and only when nothing is
   * in flight to the cluster (an attempt in flight will tell soon enough). Half-open: no, the probe
   * is out.
   */
  mayStart(inFlight: number): boolean {
    const now = this.clock.now();
    if (now < this.heldUntil) return false;
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return true;
    if (state !== CircuitState.Open || inFlight > 0) return false;
    return now >= this.openedAt + this.cooldownMs;
  }

  /** When a stalled cluster should be looked at again, on the clock; undefined when not stalled. */
  reopensAt(): number | undefined {
    const held = this.holdEnd;
    if (this.breaker.state === CircuitState.Open) {
      return Math.max(held, this.openedAt + this.cooldownMs);
    }
    return held || undefined;
  }

  /** Holds back new attempts for `ms` (never shortens an earlier hold). */
  hold(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.clock.now() + ms);
  }

  /**
   * Runs one attempt through the breaker. Only a rejection counts as a failure, so the caller
   * throws for failures worth retrying and resolves for answers that show the cluster is up.
   * Rejects with `BrokenCircuitError` when the breaker refuses the attempt.
   */
  execute<T>(attempt: () => Promise<T>): Promise<T> {
    return this.breaker.execute(attempt);
  }
}
