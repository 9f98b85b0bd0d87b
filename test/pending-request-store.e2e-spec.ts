import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import {
  InMemoryPendingRequestStore,
  InvalidRequestIdError,
  PendingRequestStore,
  PendingRequestStoreError,
  RedisPendingRequestStore,
  type PendingRequest,
} from '../apps/api/src/conversation';
import { freePort } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const request: PendingRequest = {
  chatId: 123456789,
  messageId: 42,
  prompt: 'summarise the README',
  originalWasAudio: false,
  createdAt: '2024-01-02T03:04:05.000Z',
  botId: null,
};

/** A request id no other test or parallel run uses. */
const uniqueId = () => `telegram-${randomUUID()}`;

describe('pending-request store in Redis', () => {
  let app: TestApp;
  let store: PendingRequestStore;
  let redis: Redis;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}` } });
    store = app.app.get(PendingRequestStore);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await app.close();
    await redis.quit();
  });

  it('is the Redis implementation when REDIS_URL is set', () => {
    expect(store).toBeInstanceOf(RedisPendingRequestStore);
  });

  it('writes the contract\'s JSON at cursor_runner_callback:<id> with a TTL of one hour', async () => {
    const id = uniqueId();
    await store.store(id, { ...request, originalWasAudio: true });
    const key = `cursor_runner_callback:${id}`;
    expect(JSON.parse((await redis.get(key))!)).toEqual({
      chat_id: 123456789,
      message_id: 42,
      prompt: 'summarise the README',
      original_was_audio: true,
      created_at: '2024-01-02T03:04:05.000Z',
    });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('reads back what it stored, and nothing after delete', async () => {
    const id = uniqueId();
    await store.store(id, request);
    expect(await store.get(id)).toEqual(request);
    await store.delete(id);
    expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(0);
    expect(await store.get(id)).toBeNull();
  });

  it('returns null for an id never stored', async () => {
    expect(await store.get(uniqueId())).toBeNull();
  });

  it('sets the TTL given per entry, and replacing an entry restarts it', async () => {
    const id = uniqueId();
    await store.store(id, request, 30);
    expect(await redis.ttl(`cursor_runner_callback:${id}`)).toBeLessThanOrEqual(30);
    await store.store(id, { ...request, prompt: 'again' }, 600);
    expect(await redis.ttl(`cursor_runner_callback:${id}`)).toBeGreaterThan(30);
    expect((await store.get(id))!.prompt).toBe('again');
  });

  it('reads entries other deployments wrote (ids as strings, no audio flag)', async () => {
    const id = uniqueId();
    await redis.set(
      `cursor_runner_callback:${id}`,
      JSON.stringify({ chat_id: '-100200300', message_id: 7, prompt: 'hi', created_at: '2024-05-06T07:08:09Z' }),
      'EX',
      60,
    );
    expect(await store.get(id)).toEqual({
      chatId: -100200300,
      messageId: 7,
      prompt: 'hi',
      originalWasAudio: false,
      createdAt: '2024-05-06T07:08:09Z',
      botId: null,
    });
  });

  it('keeps the bot a message came through, as bot_id', async () => {
    const id = uniqueId();
    await store.store(id, { ...request, botId: 7 });
    expect(JSON.parse((await redis.get(`cursor_runner_callback:${id}`))!)).toMatchObject({ bot_id: 7 });
    expect(await store.get(id)).toEqual({ ...request, botId: 7 });
  });

  it.each([
    ['not JSON', '{chat_id:'],
    ['JSON without a chat id', '{"message_id":1,"prompt":"x"}'],
    ['a JSON string', '"hello"'],
  ])('treats an entry that is %s as not found, and says so in the log', async (_, raw) => {
    const id = uniqueId();
    await redis.set(`cursor_runner_callback:${id}`, raw, 'EX', 60);
    expect(await store.get(id)).toBeNull();
    expect(app.logs.lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: `Pending request ${id} is unreadable; treating it as not found` }),
    );
  });

  it('claims a delivery once across connections, and completing deletes the entry and the claim together', async () => {
    const id = uniqueId();
    await store.store(id, request);
    expect(await store.claimDelivery(id, 'first', 300)).toBe(true);
    expect(await redis.ttl(`{cursor_runner_callback:${id}}:delivering`)).toBeGreaterThan(290);
    expect(await store.claimDelivery(id, 'second', 300)).toBe(false);
    await store.releaseDelivery(id);
    expect(await redis.exists(`{cursor_runner_callback:${id}}:delivering`)).toBe(0);
    expect(await store.get(id)).toEqual(request);
    expect(await store.claimDelivery(id, 'second', 300)).toBe(true);
    await store.completeDelivery(id);
    expect(await redis.exists(`cursor_runner_callback:${id}`, `{cursor_runner_callback:${id}}:delivering`)).toBe(0);
  });

  it("takes a receipt's claim that landed before as its own, and extends or releases only its own", async () => {
    const id = uniqueId();
    const claimKey = `{cursor_runner_callback:${id}}:delivering`;
    await store.store(id, request);
    expect(await store.claimDelivery(id, 'receipt', 20)).toBe(true);
    expect(await store.claimDelivery(id, 'receipt', 20)).toBe(true);
    await store.extendDeliveryClaim(id, 'another', 900);
    await store.releaseDeliveryClaim(id, 'another');
    expect(await redis.ttl(claimKey)).toBeLessThanOrEqual(20);
    await store.extendDeliveryClaim(id, 'receipt', 900);
    expect(await redis.ttl(claimKey)).toBeGreaterThan(890);
    await store.releaseDeliveryClaim(id, 'receipt');
    expect(await redis.exists(claimKey)).toBe(0);
    await store.delete(id);
  });

  it('reads whether a delivery is under way, and marks a refusal notice once, for a day, beside the pending request', async () => {
    const id = uniqueId();
    await store.store(id, request);
    expect(await store.deliveryUnderWay(id)).toBe(false);
    await store.claimDelivery(id, 'first', 300);
    expect(await store.deliveryUnderWay(id)).toBe(true);
    expect(await store.markRefusalNotice(id)).toBe(true);
    expect(await store.markRefusalNotice(id)).toBe(false);
    expect(await redis.ttl(`{cursor_runner_callback:${id}}:refusal-noticed`)).toBeGreaterThan(86_000);
    expect(await store.get(id)).toEqual(request);
    await store.completeDelivery(id);
    await redis.del(`{cursor_runner_callback:${id}}:refusal-noticed`);
  });

  it('refuses an invalid id before touching Redis', async () => {
    const id = `bad id ${randomUUID()}`;
    await expect(store.store(id, request)).rejects.toBeInstanceOf(InvalidRequestIdError);
    await expect(store.get(id)).rejects.toBeInstanceOf(InvalidRequestIdError);
    expect(await redis.exists(`cursor_runner_callback:${id}`)).toBe(0);
  });
});

describe('pending-request store when Redis is down', () => {
  let app: TestApp;
  let store: PendingRequestStore;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    store = app.app.get(PendingRequestStore);
  });
  afterAll(() => app.close());

  it('fails store and get with a store error instead of pretending the request is not there', async () => {
    const id = uniqueId();
    await expect(store.store(id, request)).rejects.toBeInstanceOf(PendingRequestStoreError);
    await expect(store.get(id)).rejects.toThrow(/^Pending request store get failed: /);
  });

  it('fails a delivery claim with a store error', async () => {
    await expect(store.claimDelivery(uniqueId(), 'first', 60)).rejects.toBeInstanceOf(PendingRequestStoreError);
  });

  it('logs a failed delete without throwing: the entry expires by itself', async () => {
    const id = uniqueId();
    await expect(store.delete(id)).resolves.toBeUndefined();
    expect(app.logs.lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(new RegExp(`^Could not delete pending request ${id}: `)) }),
    );
  });
});

describe('pending-request store in the embedded mode', () => {
  it('is the in-process implementation when REDIS_URL is unset', async () => {
    const app = await startTestApp();
    try {
      const store = app.app.get(PendingRequestStore);
      expect(store).toBeInstanceOf(InMemoryPendingRequestStore);
      const id = uniqueId();
      await store.store(id, request);
      expect(await store.get(id)).toEqual(request);
    } finally {
      await app.close();
    }
  });
});
