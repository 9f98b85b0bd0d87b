import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { withTimeout } from '@app/common';

export interface TransportHandlers {
  /** One raw message from another sender or this one (the service filters echoes). */
  onMessage(message: string): void;
  /** Messages may have been missed (the subscription was down): local state must be rebuilt. */
  onResync(): void;
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

  async publish(): Promise<void> {}

  async start(): Promise<void> {}

  stop(): void {}
}

/**
 * Redis pub/sub: PUBLISH on the shared command connection, SUBSCRIBE on the dedicated subscriber
 * connection. Pub/sub keeps nothing for a subscriber that is away, so every time the subscriber
 * becomes ready again (or for the first time after boot) the handlers are told to resync.
 */
export class RedisInvalidationTransport extends InvalidationTransport {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('CacheInvalidation');
  private isSubscribed = false;
  private detach: (() => void) | undefined;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    readonly channel: string,
    private readonly publishTimeoutMs: number,
  ) {
    super();
  }

  get subscribed(): boolean {
    return this.isSubscribed && this.subscriber.status === 'ready';
  }

  async publish(message: string): Promise<void> {
    await withTimeout(
      this.publisher.publish(this.channel, message),
      this.publishTimeoutMs,
      () => new Error(`PUBLISH timed out after ${this.publishTimeoutMs} ms`),
    );
  }

  async start(handlers: TransportHandlers): Promise<void> {
    const onMessage = (channel: string, message: string) => {
      if (channel === this.channel) handlers.onMessage(message);
    };
    const onReady = () => {
      void this.subscribe().then((ok) => {
        if (ok) handlers.onResync();
      });
    };
    const onClose = () => {
      this.isSubscribed = false;
    };
    this.subscriber.on('message', onMessage);
    this.subscriber.on('ready', onReady);
    this.subscriber.on('close', onClose);
    this.detach = () => {
      this.subscriber.off('message', onMessage);
      this.subscriber.off('ready', onReady);
      this.subscriber.off('close', onClose);
    };
    // Not ready yet (Redis down at boot): the `ready` handler subscribes when it comes.
    if (this.subscriber.status === 'ready') await this.subscribe();
  }

  stop(): void {
    this.detach?.();
    this.isSubscribed = false;
  }

  private async subscribe(): Promise<boolean> {
    try {
      await this.subscriber.subscribe(this.channel);
      this.isSubscribed = true;
      return true;
    } catch (error) {
      // The next `ready` tries again; until then the instance relies on its L1 ceiling.
      this.logger.warn(`Could not subscribe to ${this.channel}: ${(error as Error).message}`);
      return false;
    }
  }
}
