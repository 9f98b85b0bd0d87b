import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { clusterSubscription, type RedisConnection } from '@app/redis';
import { withTimeout } from '@app/common';

export interface TransportHandlers {
  /** One raw message from another sender or this one (the service filters echoes). */
  onMessage(message: string): void;
  /** Messages may have been missed (the subscription was down): local state must be rebuilt. */
  onResync(): void;
  /**
   * The subscription went silent (closed, or Redis stopped answering it): messages sent from now on
   * may be missed until {@link onResync}.
   */
  onSilence(): void;
}

/**
 * Carries invalidation events between the instances of the app: Redis pub/sub in production, or
 * nothing at all in the embedded mode, where the one process is the whole fleet.
 */
export abstract class InvalidationTransport {
  abstract readonly kind: 'redis' | 'local';
  abstract readonly channel: string;
  /** Whether messages published now by another instance would reach this one. */
  abstract get subscribed(): boolean;
  /** Times the subscription went silent since start (see {@link TransportHandlers.onSilence}). */
  abstract get silences(): number;
  /** Sends one message; rejects when it could not be handed to the broker. */
  abstract publish(message: string): Promise<void>;
  /** Starts delivery; called once. */
  abstract start(handlers: TransportHandlers): Promise<void>;
  /** Stops delivery (the connection itself belongs to the Redis module). */
  abstract stop(): void;
}

/** The embedded mode: one process, no one else to tell; the local work is all there is. */
export class LocalInvalidationTransport extends InvalidationTransport {
  readonly kind = 'local' as const;

  constructor(readonly channel: string) {
    super();
  }

  get subscribed(): boolean {
    return true;
  }

  get silences(): number {
    return 0;
  }

  async publish(): Promise<void> {}

  async start(): Promise<void> {}

  stop(): void {}
}

/**
 * Redis pub/sub: PUBLISH on the shared command connection, SUBSCRIBE on the dedicated subscriber
 * connection. Pub/sub keeps nothing for a subscriber that is away, so every time the subscriber
 * becomes ready again (or for the first time after boot) the handlers are told to resync.
 *
 * A connection can also stay open while Redis answers nothing (a frozen or overloaded server, a
 * network that drops packets): ioredis would notice only when TCP gives up, minutes later. So the
 * subscriber is PINGed every `heartbeatMs`; a PING unanswered for two intervals, or the connection
 * closing, makes the subscription silent (handlers told at once), and the next answer after that
 * makes it heard again (handlers told to resync).
 *
 * On a Redis Cluster, PUBLISH reaches every node (classic pub/sub is broadcast over the cluster bus)
 * and ioredis keeps the subscription on one node of its choosing, moving it to another when that
 * node goes away — silently, and messages published in between are lost. So a move counts as a
 * silence (the beat after it notices), and since a PING would go to some other node, the heartbeat
 * is an echo instead: the instance publishes to a channel of its own and waits to hear it on its
 * subscription, which proves the whole path an invalidation takes, whichever node carries it.
 */
export class RedisInvalidationTransport extends InvalidationTransport {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('CacheInvalidation');
  private isSubscribed = false;
  /** `heard`: subscribed and answering PINGs in time; `silent`: may be missing messages; `unknown`: booting. */
  private state: 'unknown' | 'heard' | 'silent' = 'unknown';
  private silenceCount = 0;
  private pingSentAt: number | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private handlers: TransportHandlers | undefined;
  private detach: (() => void) | undefined;
  /** The channel of the echo heartbeat (on a Cluster), else `undefined`: PING is the heartbeat. */
  private readonly echoChannel: string | undefined;
  /** On a Cluster, the connection the subscription was made on (see {@link clusterSubscription}). */
  private subscription: object | null = null;

  constructor(
    private readonly publisher: RedisConnection,
    private readonly subscriber: RedisConnection,
    readonly channel: string,
    private readonly publishTimeoutMs: number,
    private readonly heartbeatMs: number,
  ) {
    super();
    this.echoChannel = subscriber instanceof Cluster ? `${channel}:heartbeat:${randomUUID()}` : undefined;
  }

  get subscribed(): boolean {
    return this.isSubscribed && this.state === 'heard' && this.subscriber.status === 'ready';
  }

  get silences(): number {
    return this.silenceCount;
  }

  async publish(message: string): Promise<void> {
    await withTimeout(
      this.publisher.publish(this.channel, message),
      this.publishTimeoutMs,
      () => new Error(`PUBLISH timed out after ${this.publishTimeoutMs} ms`),
    );
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    const onMessage = (channel: string, message: string) => {
      if (channel === this.channel) handlers.onMessage(message);
      else if (channel === this.echoChannel && message === String(this.pingSentAt)) this.answered();
    };
    const onReady = () => {
      void this.subscribe().then((ok) => {
        if (ok) this.hear();
      });
    };
    const onClose = () => {
      this.isSubscribed = false;
      this.pingSentAt = undefined;
      this.fallSilent('the subscriber connection closed');
    };
    this.subscriber.on('message', onMessage);
    this.subscriber.on('ready', onReady);
    this.subscriber.on('close', onClose);
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
    this.detach = () => {
      this.subscriber.off('message', onMessage);
      this.subscriber.off('ready', onReady);
      this.subscriber.off('close', onClose);
      clearInterval(this.heartbeat);
    };
    // Not ready yet (Redis down at boot): silent until the `ready` handler has subscribed.
    if (this.subscriber.status === 'ready' && (await this.subscribe())) this.hear();
    else this.fallSilent('the subscriber is not connected yet');
  }

  stop(): void {
    this.detach?.();
    this.isSubscribed = false;
    this.state = 'unknown';
  }

  /** One heartbeat: judge the PING in flight, or send the next one. */
  private beat(): void {
    if (!this.isSubscribed || this.subscriber.status !== 'ready') return;
    if (this.subscriber instanceof Cluster && clusterSubscription(this.subscriber) !== this.subscription) {
      // ioredis re-subscribed on another node (or is about to): what was published meanwhile is gone.
      this.subscription = clusterSubscription(this.subscriber);
      this.pingSentAt = undefined;
      this.fallSilent('the subscription moved to another Cluster node');
      return;
    }
    if (this.pingSentAt !== undefined) {
      const waitedMs = Date.now() - this.pingSentAt;
      if (waitedMs < 2 * this.heartbeatMs) return;
      this.fallSilent(`no answer to ${this.echoChannel ? 'the echo' : 'PING'} for ${waitedMs} ms`);
      // A lost echo never comes back (a PING still may): send the next one.
      if (this.echoChannel) this.pingSentAt = undefined;
      return;
    }
    const sentAt = (this.pingSentAt = Date.now());
    if (this.echoChannel) {
      // Unanswered, the echo is judged by the next beats like a PING; a failed PUBLISH is too.
      this.publisher.publish(this.echoChannel, String(sentAt)).catch(() => undefined);
      return;
    }
    this.subscriber.ping().then(
      () => {
        if (this.pingSentAt === sentAt) this.answered();
      },
      () => {
        if (this.pingSentAt === sentAt) this.pingSentAt = undefined;
      },
    );
  }

  /** Redis answered on the subscribed connection: everything published before is delivered. */
  private answered(): void {
    this.pingSentAt = undefined;
    if (this.state === 'silent' && this.isSubscribed) this.hear();
  }

  /** The subscription is live; after a silence, the handlers rebuild what they may have missed. */
  private hear(): void {
    const previous = this.state;
    this.state = 'heard';
    if (previous !== 'silent') return;
    this.logger.log(`Invalidation subscription on ${this.channel} answers again`);
    this.handlers?.onResync();
  }

  private fallSilent(reason: string): void {
    if (this.state === 'silent') return;
    this.state = 'silent';
    this.silenceCount += 1;
    this.logger.warn(`Invalidation subscription on ${this.channel} is silent (${reason}): L1 is not trusted until it answers`);
    this.handlers?.onSilence();
  }

  private async subscribe(): Promise<boolean> {
    try {
      await this.subscriber.subscribe(this.channel, ...(this.echoChannel ? [this.echoChannel] : []));
      if (this.subscriber instanceof Cluster) this.subscription = clusterSubscription(this.subscriber);
      this.isSubscribed = true;
      return true;
    } catch (error) {
      // The next `ready` tries again; until then the instance does not trust its L1.
      this.logger.warn(`Could not subscribe to ${this.channel}: ${(error as Error).message}`);
      return false;
    }
  }
}
