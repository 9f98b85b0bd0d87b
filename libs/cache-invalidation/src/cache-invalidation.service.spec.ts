import { Logger } from '@nestjs/common';
import { loadConfig } from '@app/config';
import { CacheRegistry, defineCacheNamespace, UNTRUSTED_L1_LIFETIME_MS } from '@app/cache';
import { CacheInvalidationService, InvalidationRequestError } from './cache-invalidation.service';
import { INVALIDATION_EVENT_VERSION, type InvalidationEvent } from './invalidation-event';
import { InvalidationTransport, type TransportHandlers } from './invalidation-transport';
import { controlledClock } from '../../../test/support/controlled-clock';
import { pollUntil } from '../../../test/support/poll';

/** The bus port in memory: what was published, and a way to deliver messages as another instance would. */
class FakeTransport extends InvalidationTransport {
  readonly kind = 'redis' as const;
  readonly channel = 'test-channel';
  readonly published: string[] = [];
  failing = false;
  handlers!: TransportHandlers;

  get subscribed(): boolean {
    return true;
  }

  get silences(): number {
    return 0;
  }

  async publish(message: string): Promise<void> {
    if (this.failing) throw new Error('connection is closed');
    this.published.push(message);
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
  }

  stop(): void {}
}

const PRICES = defineCacheNamespace({ name: 'prices', ttl: '1m', description: 'unit test' });
const USERS = defineCacheNamespace({ name: 'users', ttl: '1m', description: 'unit test' });

async function setup() {
  const config = loadConfig({ NODE_ENV: 'test', CACHE_KEY_PREFIX: 'app' });
  const registry = new CacheRegistry(config, null);
  const mocks = { transport: new FakeTransport(), prices: registry.namespace(PRICES), users: registry.namespace(USERS), registry };
  const sut = new CacheInvalidationService(registry, mocks.transport, config);
  await sut.onModuleInit();
  return { sut, mocks };
}

const events = (transport: FakeTransport) => transport.published.map((message) => JSON.parse(message) as InvalidationEvent);

function remoteEvent(overrides: Partial<InvalidationEvent> = {}): string {
  return JSON.stringify({
    v: INVALIDATION_EVENT_VERSION,
    id: '6f1c2f9e-2a7b-4c1e-9d3f-0a1b2c3d4e5f',
    origin: 'other-host:1:abcd',
    app: 'app',
    sentAt: Date.now(),
    targets: [{ namespace: 'prices', keys: ['apple'] }],
    ...overrides,
  });
}


describe('CacheInvalidationService', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('removes keys and tags across namespaces and announces one event with namespace-local keys', async () => {
    const { sut, mocks } = await setup();
    await mocks.prices.set('apple', 3);
    await mocks.users.set('ann', { id: 1 }, { tags: ['people'] });
    const result = await sut.invalidate({ keys: [mocks.prices.key('apple')], tags: ['people'] });
    expect(result).toMatchObject({ l1Removed: 2, namespaces: ['prices', 'users'], published: true, l2Deferred: false });
    expect(await mocks.prices.get('apple')).toBeUndefined();
    expect(await mocks.users.get('ann')).toBeUndefined();
    // The sets announced their keys before it.
    const event = events(mocks.transport).find((published) => published.id === result.eventId);
    expect(event?.targets).toEqual([
      { namespace: 'prices', keys: ['apple'], tags: ['people'] },
      { namespace: 'users', tags: ['people'] },
    ]);
  });

  it.each([
    [{}, 'Name at least one of keys, tags or namespaces'],
    [{ namespaces: ['nope'] }, 'Unknown cache namespace(s): nope'],
    [{ keys: ['other-app:1:prices:apple'] }, 'is not a key of this app'],
  ])('refuses %p, saying why', async (request, reason) => {
    const { sut, mocks } = await setup();
    await expect(sut.invalidate(request)).rejects.toThrow(InvalidationRequestError);
    await expect(sut.invalidate(request)).rejects.toThrow(reason);
    expect(mocks.transport.published).toEqual([]);
  });

  it('announces the invalidations a namespace makes itself', async () => {
    const { mocks } = await setup();
    await mocks.prices.delete('apple');
    expect(events(mocks.transport)[0].targets).toEqual([{ namespace: 'prices', keys: ['apple'] }]);
  });

  it('applies another instance’s event to L1, and ignores its own echo and other apps', async () => {
    const { sut, mocks } = await setup();
    await mocks.prices.set('apple', 3);
    mocks.transport.handlers.onMessage(remoteEvent({ origin: sut.instanceId }));
    mocks.transport.handlers.onMessage(remoteEvent({ app: 'another-app' }));
    expect(mocks.prices.peek('apple')).toBe(3);
    mocks.transport.handlers.onMessage(remoteEvent());
    expect(mocks.prices.peek('apple')).toBeUndefined();
    expect(sut.status()).toMatchObject({ received: 1, applied: 1, ignored: 2, rejected: 0 });
  });

  it('counts and drops a malformed message without applying anything', async () => {
    const { sut, mocks } = await setup();
    await mocks.prices.set('apple', 3);
    mocks.transport.handlers.onMessage('{"v":1,"targets":"all"}');
    mocks.transport.handlers.onMessage('not json');
    expect(mocks.prices.peek('apple')).toBe(3);
    expect(sut.status()).toMatchObject({ received: 2, rejected: 2, applied: 0 });
  });

  it('never fails the writer when the bus is down: counts the failure and warns once per outage', async () => {
    const { sut, mocks } = await setup();
    mocks.transport.failing = true;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    expect((await sut.invalidate({ namespaces: ['prices'] })).published).toBe(false);
    expect((await sut.invalidate({ namespaces: ['users'] })).published).toBe(false);
    expect(sut.status().publishFailures).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    mocks.transport.failing = false;
    expect((await sut.invalidate({ namespaces: ['prices'] })).published).toBe(true);
  });

  it('sends what failed events carried again, merged per namespace, once the bus takes them', async () => {
    const { sut, mocks } = await setup();
    try {
      mocks.transport.failing = true;
      await sut.invalidate({ keys: [mocks.prices.key('apple')] });
      await sut.invalidate({ keys: [mocks.prices.key('pear')], namespaces: ['users'] });
      await mocks.prices.invalidateTags('fruit');
      expect(sut.status()).toMatchObject({ publishFailures: 3, resent: 0, unsentNamespaces: 2 });

      // Retries while the bus still fails are not counted as more lost events.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(sut.status()).toMatchObject({ publishFailures: 3, resent: 0, unsentNamespaces: 2 });

      mocks.transport.failing = false;
      await pollUntil(async () => mocks.transport.published.length, (count) => count > 0, 2_000, 10);
      expect(events(mocks.transport).map((event) => event.targets)).toEqual([
        [
          { namespace: 'prices', keys: ['apple', 'pear'], tags: ['fruit'] },
          { namespace: 'users', all: true },
        ],
      ]);
      expect(sut.status()).toMatchObject({ published: 1, resent: 1, unsentNamespaces: 0 });
    } finally {
      sut.onApplicationShutdown();
    }
  });

  it('sends what a failed event carried along with the next event that gets through', async () => {
    const { sut, mocks } = await setup();
    try {
      mocks.transport.failing = true;
      await mocks.prices.delete('apple');
      mocks.transport.failing = false;
      await mocks.users.delete('ann');
      await pollUntil(async () => mocks.transport.published.length, (count) => count === 2, 2_000, 10);
      expect(events(mocks.transport).map((event) => event.targets)).toEqual([
        [{ namespace: 'users', keys: ['ann'] }],
        [{ namespace: 'prices', keys: ['apple'] }],
      ]);
    } finally {
      sut.onApplicationShutdown();
    }
  });

  it('clears every L1 when the subscription comes back after a gap', async () => {
    const { sut, mocks } = await setup();
    await mocks.prices.set('apple', 3);
    await mocks.users.set('ann', 1);
    mocks.transport.handlers.onResync();
    expect(mocks.prices.peek('apple')).toBeUndefined();
    expect(mocks.users.peek('ann')).toBeUndefined();
    expect(sut.status().resyncs).toBe(1);
  });

  it('clears every L1 when the subscription goes silent, and keeps what L1 then stores only briefly until it answers', async () => {
    const clock = controlledClock(5_000_000);
    try {
      const { mocks } = await setup();
      await mocks.prices.set('apple', 3);
      mocks.transport.handlers.onSilence();
      expect(mocks.prices.peek('apple')).toBeUndefined();
      await mocks.prices.set('apple', 4);
      await clock.advance(UNTRUSTED_L1_LIFETIME_MS + 1);
      expect(mocks.prices.peek('apple')).toBeUndefined();
      await mocks.prices.set('apple', 5);
      mocks.transport.handlers.onResync();
      expect(mocks.prices.peek('apple')).toBeUndefined();
      await mocks.prices.set('apple', 6);
      await clock.advance(UNTRUSTED_L1_LIFETIME_MS + 10);
      expect(mocks.prices.peek('apple')).toBe(6);
    } finally {
      jest.restoreAllMocks();
    }
  });
});
