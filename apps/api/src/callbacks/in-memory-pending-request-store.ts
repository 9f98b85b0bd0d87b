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
    this.entries.set(id, { json, expiresAt: now + ttlSeconds * 1000 });
  }

  protected async read(id: string): Promise<string | null> {
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return null;
    }
    return entry.json;
  }

  protected async remove(id: string): Promise<void> {
    this.entries.delete(id);
  }
}
