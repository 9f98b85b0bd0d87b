export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through, in milliseconds. */
  cooldownMs: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

/**
 * Skips a failing dependency so it costs nothing per call: after `failureThreshold` consecutive
 * failures every call is refused for `cooldownMs`; then a single trial call decides whether the
 * circuit closes again (success) or stays open for another cooldown (failure).
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private currentState: CircuitState = 'closed';
  private readonly now: () => number;
  /** Times the circuit has opened since start. */
  opened = 0;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.currentState;
  }

  /** Whether a call may go ahead now; in half-open state only one trial at a time is allowed. */
  allows(): boolean {
    if (this.currentState === 'closed') return true;
    if (this.currentState === 'open') {
      if (this.now() - this.openedAt < this.options.cooldownMs) return false;
      this.currentState = 'half-open';
    }
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Records a success; returns true when it closed an open circuit. */
  recordSuccess(): boolean {
    const wasOpen = this.currentState !== 'closed';
    this.consecutiveFailures = 0;
    this.trialInFlight = false;
    this.currentState = 'closed';
    return wasOpen;
  }

  /** Records a failure; returns true when it opened the circuit. */
  recordFailure(): boolean {
    this.trialInFlight = false;
    this.consecutiveFailures += 1;
    if (this.currentState === 'half-open' || this.consecutiveFailures >= this.options.failureThreshold) {
      const opening = this.currentState !== 'open';
      this.currentState = 'open';
      this.openedAt = this.now();
      if (opening) this.opened += 1;
      return opening;
    }
    return false;
  }
}
