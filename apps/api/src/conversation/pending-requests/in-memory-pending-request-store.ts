import { PendingRequestStore } from './pending-request-store';

interface Entry {
  json: string;
  /** Epoch milliseconds after which the entry is gone. */
  expiresAt: number;
}

/**
 * Pending requests in this process, for the embedded mode (no `REDIS_URL`): same expiry as Redis,
 * lost on restart, invisible to other instances. Expired entries are never returned and are
 * swept on every write, so requests whose callback never comes do not accumulate.
 */
export class InMemoryPendingRequestStore extends PendingRequestStore {
  private readonly entries = new Map<string, Entry>();
  /** Delivery claims: request id → the receipt's token and the epoch milliseconds at which the claim lapses. */
  private readonly claims = new Map<string, { token: string; lapsesAt: number }>();
  /** Kept results, by request id. */
  private readonly results = new Map<string, Entry>();
  /** Refusal-notice marks: request id → epoch milliseconds at which the mark lapses. */
  private readonly refusalNotices = new Map<string, number>();
  /** Telegram requests' deadlines: request id → epoch milliseconds. */
  private readonly deadlines = new Map<string, number>();

  /** @param now the clock, in epoch milliseconds (tests pass their own). */
  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /** Entries held, including expired ones not yet swept. */
  get size(): number {
    return this.entries.size;
  }

  protected async write(id: string, json: string, ttlSeconds: number): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
    for (const [key, lapsesAt] of this.refusalNotices) {
      if (lapsesAt <= now) this.refusalNotices.delete(key);
    }
    for (const [key, claim] of this.claims) {
      if (claim.lapsesAt <= now) this.claims.delete(key);
    }
    this.entries.set(id, { json, expiresAt: now + ttlSeconds * 1000 });
  }

  protected async writeDeadline(id: string, dueInMs: number): Promise<void> {
    this.deadlines.set(id, this.now() + dueInMs);
  }

  protected async leaseDue(limit: number, leaseMs: number): Promise<string[]> {
    const now = this.now();
    const due = [...this.deadlines].filter(([, at]) => at <= now).sort(([, a], [, b]) => a - b).slice(0, limit).map(([id]) => id);
    for (const id of due) this.deadlines.set(id, now + leaseMs);
    return due;
  }

  protected async removeDeadline(id: string): Promise<void> {
    this.deadlines.delete(id);
  }

  protected async writeIfFree(id: string, json: string, ttlSeconds: number): Promise<boolean> {
    const current = this.live(this.entries, id);
    if (current === json) return true;
    if (current !== null || this.live(this.results, id) !== null) return false;
    await this.write(id, json, ttlSeconds);
    return true;
  }

  protected async removeIfHolds(id: string, json: string): Promise<void> {
    if (this.live(this.entries, id) === json) this.entries.delete(id);
  }

  protected async read(id: string): Promise<string | null> {
    return this.live(this.entries, id);
  }

  protected async writeResult(id: string, json: string, ttlSeconds: number): Promise<void> {
    const now = this.now();
    for (const [key, entry] of this.results) {
      if (entry.expiresAt <= now) this.results.delete(key);
    }
    this.results.set(id, { json, expiresAt: now + ttlSeconds * 1000 });
  }

  protected async readResult(id: string): Promise<string | null> {
    return this.live(this.results, id);
  }

  /** The JSON of `id` in `map` unless it has expired (then it is dropped). */
  private live(map: Map<string, Entry>, id: string): string | null {
    const entry = map.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      map.delete(id);
      return null;
    }
    return entry.json;
  }

  protected async remove(id: string): Promise<void> {
    this.entries.delete(id);
  }

  protected async claim(id: string, token: string, ttlSeconds: number): Promise<boolean> {
    const held = this.liveClaim(id);
    if (held !== undefined) return held.token === token;
    this.claims.set(id, { token, lapsesAt: this.now() + ttlSeconds * 1000 });
    return true;
  }

  protected async extendClaim(id: string, token: string, ttlSeconds: number): Promise<boolean> {
    const held = this.liveClaim(id);
    if (held?.token !== token) return false;
    held.lapsesAt = this.now() + ttlSeconds * 1000;
    return true;
  }

  protected async claimed(id: string): Promise<boolean> {
    return this.liveClaim(id) !== undefined;
  }

  private liveClaim(id: string): { token: string; lapsesAt: number } | undefined {
    const held = this.claims.get(id);
    return held !== undefined && held.lapsesAt > this.now() ? held : undefined;
  }

  protected async markRefusal(id: string, ttlSeconds: number): Promise<boolean> {
    return this.markOnce(this.refusalNotices, id, ttlSeconds);
  }

  /** Sets `id` in `marks` for `ttlSeconds` unless a live mark is there; whether it was set. */
  private markOnce(marks: Map<string, number>, id: string, ttlSeconds: number): boolean {
    const now = this.now();
    const held = marks.get(id);
    if (held !== undefined && held > now) return false;
    marks.set(id, now + ttlSeconds * 1000);
    return true;
  }

  protected async unclaim(id: string): Promise<void> {
    this.claims.delete(id);
  }

  protected async unclaimWithToken(id: string, token: string): Promise<void> {
    if (this.claims.get(id)?.token === token) this.claims.delete(id);
  }

  protected async removeWithClaim(id: string): Promise<void> {
    this.entries.delete(id);
    this.claims.delete(id);
  }
}
