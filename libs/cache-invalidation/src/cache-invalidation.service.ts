import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CacheRegistry, UNTRUSTED_L1_LIFETIME_MS, type EntrySelection, type InvalidationNotice } from '@app/cache';
import { AppConfig } from '@app/config';
import {
  INVALIDATION_EVENT_VERSION,
  MAX_SELECTORS_PER_EVENT,
  parseInvalidationEvent,
  type InvalidationEvent,
  type InvalidationTarget,
} from './invalidation-event';
import { InvalidationTransport } from './invalidation-transport';

/** What to invalidate, across the whole fleet. At least one list must be non-empty. */
export interface InvalidationRequest {
  /** Full cache keys (`<prefix>:<schemaVersion>:<namespace>:<key>`), as listed in Redis. */
  keys?: readonly string[];
  /** Tags, removed from every namespace that uses them. */
  tags?: readonly string[];
  /** Whole namespaces, by name. */
  namespaces?: readonly string[];
}

export interface InvalidationResult {
  /** The announced event's id (also in the other instances' logs), or null when nothing was announced. */
  eventId: string | null;
  /** Entries removed from Redis (L2); 0 in the embedded mode. */
  l2Removed: number;
  /** Whether part of the L2 removal waits for Redis to come back (it is replayed then). */
  l2Deferred: boolean;
  /** Entries dropped from this instance's L1. */
  l1Removed: number;
  /** Namespaces touched. */
  namespaces: string[];
  /** Whether the event reached the bus (always true in the embedded mode). */
  published: boolean;
}

/** A request the service refuses; the message says what is wrong (the controller answers 400). */
export class InvalidationRequestError extends Error {
  override readonly name = 'InvalidationRequestError';
}

/** What the invalidation bus reports about itself (counted since the process started). */
export interface InvalidationBusStatus {
  /** `redis` (pub/sub across instances) or `local` (embedded mode: this process only). */
  transport: 'redis' | 'local';
  channel: string;
  instanceId: string;
  /** Whether the subscriber connection is subscribed and answering its heartbeat right now. */
  subscribed: boolean;
  /** Times the subscription went silent (closed or unanswered heartbeat); L1 was not trusted meanwhile. */
  silences: number;
  /** Events this instance sent. */
  published: number;
  /** Events that could not be sent (Redis down, or unreachable from this instance alone). */
  publishFailures: number;
  /** Events that re-sent what earlier failed events carried, once the bus took them. */
  resent: number;
  /** Namespaces whose invalidation no event has carried yet: re-sent until one does. */
  unsentNamespaces: number;
  /** Events from other instances of this app, well-formed or not. */
  received: number;
  /** Received events applied to L1. */
  applied: number;
  /** Received messages dropped as malformed or of an unknown version. */
  rejected: number;
  /** Own echoes and events of other apps sharing the Redis, skipped without effect. */
  ignored: number;
  /** Times L1 was cleared because the subscriber reconnected and may have missed events. */
  resyncs: number;
}

/** Called with each event from another instance after it was applied here. */
export type AppliedListener = (event: InvalidationEvent) => void;

/**
 * Keeps every instance's L1 consistent with writes made anywhere. Every invalidation of the cache
 * library (`@CacheEvict`, a namespace's `delete`/`invalidateTags`/`clear`) and every request made
 * here removes the entries from L1 and L2 and then announces one event on the bus; every other
 * instance validates the event and drops the same entries from its L1. Without this, an instance
 * keeps serving what another instance just changed until its L1 entry expires.
 */
@Injectable()
export class CacheInvalidationService implements OnModuleInit, OnApplicationShutdown {
  /** Unique per app instance (two apps in one process differ), carried as each event's origin. */
  readonly instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('CacheInvalidation');
  private readonly counters = {
    published: 0,
    publishFailures: 0,
    received: 0,
    applied: 0,
    rejected: 0,
    ignored: 0,
    resyncs: 0,
    resent: 0,
  };
  private readonly appliedListeners = new Set<AppliedListener>();
  /**
   * What failed events carried, merged per namespace. The other instances cannot be counted on to
   * have lost their subscription too (Redis may be unreachable from this instance alone), so it is
   * sent again every heartbeat interval until the bus takes it (docs/caching.md, "Redis unreachable
   * from one instance").
   */
  private readonly unsent = new Map<string, InvalidationTarget>();
  private resendTimer: NodeJS.Timeout | undefined;
  private publishing = true;
  private detachRegistry: (() => void) | undefined;

  constructor(
    private readonly registry: CacheRegistry,
    private readonly transport: InvalidationTransport,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.detachRegistry = this.registry.onInvalidation((notice) => this.announceNotice(notice));
    this.registry.reportInvalidationBus(() => this.status());
    await this.transport.start({
      onMessage: (message) => this.receive(message),
      onResync: () => this.resync(),
      onSilence: () => this.silence(),
    });
  }

  onApplicationShutdown(): void {
    this.detachRegistry?.();
    clearInterval(this.resendTimer);
    this.resendTimer = undefined;
    this.transport.stop();
  }

  /**
   * Removes the selected entries from L2 and this instance's L1, then tells every other instance
   * to drop them from its L1. Resolves once the event is on the bus; other instances drop their
   * copies as it reaches them, which can be just after this resolves (docs/caching.md,
   * "Cross-instance invalidation"). Throws {@link InvalidationRequestError} for an invalid request.
   */
  async invalidate(request: InvalidationRequest): Promise<InvalidationResult> {
    const selections = this.resolve(request);
    let l2Removed = 0;
    let l2Deferred = false;
    let l1Removed = 0;
    const caches = [...selections.keys()].map((namespace) => this.registry.byName(namespace)!);
    const outcomes = await Promise.all(
      caches.map((cache) => cache.invalidate(selections.get(cache.name)!, { announce: false })),
    );
    outcomes.forEach((outcome, index) => {
      l1Removed += outcome.l1Removed;
      if (outcome.l2Removed === undefined) l2Deferred ||= caches[index].tiers.includes('l2');
      else l2Removed += outcome.l2Removed;
    });
    const targets = caches.map((cache) => this.toTarget({ namespace: cache.name, ...selections.get(cache.name)! }));
    const event = targets.length > 0 ? this.event(targets) : undefined;
    const published = event ? await this.announce(event) : true;
    return {
      eventId: event?.id ?? null,
      l2Removed,
      l2Deferred,
      l1Removed,
      namespaces: [...selections.keys()],
      published,
    };
  }

  /** Subscribes to events from other instances once applied here; returns the unsubscribe function. */
  onApplied(listener: AppliedListener): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  status(): InvalidationBusStatus {
    return {
      transport: this.transport.kind,
      channel: this.transport.channel,
      instanceId: this.instanceId,
      subscribed: this.transport.subscribed,
      silences: this.transport.silences,
      ...this.counters,
      unsentNamespaces: this.unsent.size,
    };
  }

  /** Groups the request by namespace, refusing what does not belong to this app's cache. */
  private resolve(request: InvalidationRequest): Map<string, EntrySelection> {
    const keys = request.keys ?? [];
    const tags = request.tags ?? [];
    const namespaces = request.namespaces ?? [];
    if (keys.length + tags.length + namespaces.length === 0) {
      throw new InvalidationRequestError('Name at least one of keys, tags or namespaces to invalidate');
    }
    for (const [field, list] of Object.entries({ keys, tags, namespaces })) {
      if (list.length > MAX_SELECTORS_PER_EVENT) {
        throw new InvalidationRequestError(`${field} may list at most ${MAX_SELECTORS_PER_EVENT} entries`);
      }
    }
    const known = (name: string) => this.registry.byName(name) !== undefined;
    const unknown = namespaces.filter((name) => !known(name));
    if (unknown.length > 0) {
      throw new InvalidationRequestError(
        `Unknown cache namespace(s): ${unknown.join(', ')}; known: ${this.registry.all().map((cache) => cache.name).join(', ')}`,
      );
    }
    const cleared = new Set(namespaces);
    const keysByNamespace = new Map<string, string[]>();
    for (const key of keys) {
      const parsed = this.registry.keys.parse(key);
      if (!parsed || !known(parsed.namespace)) {
        throw new InvalidationRequestError(
          `Key "${key}" is not a key of this app's cache (expected ${this.registry.keys.prefix}:${this.registry.keys.schemaVersion}:<namespace>:<key> with a known namespace)`,
        );
      }
      const namespaceKeys = keysByNamespace.get(parsed.namespace) ?? [];
      namespaceKeys.push(key);
      keysByNamespace.set(parsed.namespace, namespaceKeys);
    }
    const selections = new Map<string, EntrySelection>();
    for (const namespace of cleared) selections.set(namespace, { all: true });
    // Tags are not tied to a namespace: every namespace drops what it holds under them.
    const tagged = tags.length > 0 ? this.registry.all().map((cache) => cache.name) : [];
    for (const namespace of new Set([...keysByNamespace.keys(), ...tagged])) {
      if (cleared.has(namespace)) continue;
      selections.set(namespace, { keys: keysByNamespace.get(namespace) ?? [], ...(tags.length > 0 ? { tags } : {}) });
    }
    return selections;
  }

  private toTarget(notice: InvalidationNotice): InvalidationTarget {
    if (notice.all) return { namespace: notice.namespace, all: true };
    const keys = (notice.keys ?? []).map((key) => this.registry.keys.localKey(notice.namespace, key));
    const tags = notice.tags ?? [];
    return {
      namespace: notice.namespace,
      ...(keys.length > 0 ? { keys } : {}),
      ...(tags.length > 0 ? { tags: [...tags] } : {}),
    };
  }

  private event(targets: InvalidationTarget[]): InvalidationEvent {
    return {
      v: INVALIDATION_EVENT_VERSION,
      id: randomUUID(),
      origin: this.instanceId,
      app: this.config.cache.keyPrefix,
      sentAt: Date.now(),
      targets,
    };
  }

  private async announceNotice(notice: InvalidationNotice): Promise<void> {
    await this.announce(this.event([this.toTarget(notice)]));
  }

  /**
   * Sends the event; a failure is counted, logged once per outage and kept to be sent again, never
   * thrown to the writer. A success also sends what earlier events could not carry.
   */
  private async announce(event: InvalidationEvent, resending = false): Promise<boolean> {
    try {
      await this.transport.publish(JSON.stringify(event));
      this.counters.published += 1;
      if (!this.publishing) {
        this.publishing = true;
        this.logger.log('Invalidation events are reaching the bus again');
      }
      if (this.unsent.size > 0) void this.resend();
      return true;
    } catch (error) {
      // A retry of what already counted as failed is not another event lost.
      if (!resending) this.counters.publishFailures += 1;
      if (this.publishing) {
        this.publishing = false;
        this.logger.warn(
          `Could not publish invalidation event ${event.id} on ${this.transport.channel}: ${(error as Error).message}; it is sent again once the bus takes it`,
        );
      }
      this.keepUnsent(event.targets);
      return false;
    }
  }

  /** Merges targets into {@link unsent}; a namespace past the size of one event is cleared whole. */
  private keepUnsent(targets: readonly InvalidationTarget[]): void {
    for (const target of targets) {
      const kept = this.unsent.get(target.namespace);
      if (target.all || kept?.all) {
        this.unsent.set(target.namespace, { namespace: target.namespace, all: true });
        continue;
      }
      const keys = new Set([...(kept?.keys ?? []), ...(target.keys ?? [])]);
      const tags = new Set([...(kept?.tags ?? []), ...(target.tags ?? [])]);
      this.unsent.set(
        target.namespace,
        keys.size > MAX_SELECTORS_PER_EVENT || tags.size > MAX_SELECTORS_PER_EVENT
          ? { namespace: target.namespace, all: true }
          : { namespace: target.namespace, ...(keys.size > 0 ? { keys: [...keys] } : {}), ...(tags.size > 0 ? { tags: [...tags] } : {}) },
      );
    }
    this.resendTimer ??= setInterval(() => void this.resend(), this.config.cache.invalidationHeartbeatMs);
    this.resendTimer.unref();
  }

  /** One event carrying everything unsent; on failure it stays unsent (merged with what came meanwhile). */
  private async resend(): Promise<void> {
    if (this.unsent.size === 0) return;
    const targets = [...this.unsent.values()];
    this.unsent.clear();
    clearInterval(this.resendTimer);
    this.resendTimer = undefined;
    if (await this.announce(this.event(targets), true)) this.counters.resent += 1;
  }

  /** Applies one message from the channel. Never throws: a bad message is counted and dropped. */
  private receive(message: string): void {
    const parsed = parseInvalidationEvent(message);
    if (!parsed.ok) {
      this.counters.received += 1;
      this.counters.rejected += 1;
      this.logger.warn(`Dropped a malformed message on ${this.transport.channel} (${message.length} bytes): ${parsed.reason}`);
      return;
    }
    const event = parsed.event;
    if (event.origin === this.instanceId || event.app !== this.config.cache.keyPrefix) {
      this.counters.ignored += 1;
      return;
    }
    this.counters.received += 1;
    for (const target of event.targets) {
      const cache = this.registry.byName(target.namespace);
      // A namespace this instance never used holds nothing to drop.
      if (!cache) continue;
      cache.dropLocal({
        all: target.all,
        keys: target.keys?.map((key) => this.registry.keys.fromLocal(target.namespace, key)),
        tags: target.tags,
      });
    }
    this.counters.applied += 1;
    for (const listener of this.appliedListeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`Invalidation applied-listener failed: ${(error as Error).message}`);
      }
    }
  }

  private silence(): void {
    const dropped = this.registry.distrustL1();
    this.logger.warn(
      `Cleared L1 (${dropped} entries): events on ${this.transport.channel} may be missed until the subscription answers; L1 entries live at most ${UNTRUSTED_L1_LIFETIME_MS} ms meanwhile`,
    );
  }

  private resync(): void {
    this.counters.resyncs += 1;
    const dropped = this.registry.resyncL1();
    this.logger.warn(
      `Subscribed to ${this.transport.channel} again after a gap: cleared L1 (${dropped} entries), since events may have been missed`,
    );
  }
}
