import { InMemoryPendingRequestStore } from './in-memory-pending-request-store';
import { InvalidRequestIdError, type PendingRequest } from './pending-request-store';

const request: PendingRequest = {
  chatId: -100123456789,
  messageId: 42,
  prompt: 'fix the tests',
  originalWasAudio: true,
  createdAt: '2024-01-02T03:04:05.000Z',
  botId: 3,
};

describe('InMemoryPendingRequestStore', () => {
  let now: number;
  let store: InMemoryPendingRequestStore;

  beforeEach(() => {
    now = 1_000_000;
    store = new InMemoryPendingRequestStore(() => now);
  });

  it('returns what was stored, and nothing after delete', async () => {
    await store.store('telegram-1-abc', request);
    expect(await store.get('telegram-1-abc')).toEqual(request);
    await store.delete('telegram-1-abc');
    expect(await store.get('telegram-1-abc')).toBeNull();
  });

  it('tells an API client\'s run from a Telegram request, which get() alone returns', async () => {
    const run = { prompt: 'p', createdAt: '2024-01-02T03:04:05.000Z', run: 'run-token' };
    await store.storeApiRequest('req-1-abc', run);
    await store.store('telegram-1-abc', request);
    expect(await store.find('req-1-abc')).toEqual({ kind: 'api', request: run });
    expect(await store.get('req-1-abc')).toBeNull();
    expect(await store.find('telegram-1-abc')).toEqual({ kind: 'telegram', request });
  });

  it('keeps a result for its TTL, apart from the pending request', async () => {
    const kept = { result: { success: true, exitCode: 1, output: 'o', error: 'e', duration: '5ms' }, receivedAt: '2024-01-02T03:04:05.000Z' };
    await store.keepResult('req-2-abc', kept, 60);
    await store.delete('req-2-abc');
    expect(await store.keptResult('req-2-abc')).toEqual(kept);
    now += 59_999;
    expect(await store.keptResult('req-2-abc')).toEqual(kept);
    now += 1;
    expect(await store.keptResult('req-2-abc')).toBeNull();
    await expect(store.keptResult('bad id')).rejects.toBeInstanceOf(InvalidRequestIdError);
  });

  it('returns null for an id never stored, and deleting it is harmless', async () => {
    expect(await store.get('never-stored')).toBeNull();
    await expect(store.delete('never-stored')).resolves.toBeUndefined();
  });

  it('keeps an entry for exactly its TTL (default 3600 s)', async () => {
    await store.store('a', request);
    now += 3_600_000 - 1;
    expect(await store.get('a')).toEqual(request);
    now += 1;
    expect(await store.get('a')).toBeNull();
  });

  it('honours a TTL given per entry and restarts it when the entry is replaced', async () => {
    await store.store('a', request, 10);
    now += 9_000;
    await store.store('a', { ...request, prompt: 'again' }, 10);
    now += 9_000;
    expect(await store.get('a')).toEqual({ ...request, prompt: 'again' });
    now += 1_000;
    expect(await store.get('a')).toBeNull();
  });

  it('sweeps expired entries on the next write, so unanswered requests do not accumulate', async () => {
    for (const id of ['a', 'b', 'c']) await store.store(id, request, 1);
    expect(store.size).toBe(3);
    now += 1_000;
    await store.store('d', request);
    expect(store.size).toBe(1);
  });

  it('makes a request due five minutes before its entry expires (half-way for a shorter life), later when stored again', async () => {
    await store.store('a', request);
    await store.store('short', request, 10);
    now += 5_000;
    expect(await store.takeDue(10, 60_000)).toEqual(['short']);
    await store.forgetDeadline('short');
    now += 3_300_000 - 5_000 - 1;
    await store.store('b', request);
    expect(await store.takeDue(10, 60_000)).toEqual([]);
    now += 1;
    expect(await store.takeDue(10, 60_000)).toEqual(['a']);
    expect(await store.get('a')).toEqual(request);
  });

  it('leases what it hands out: taken again once the lease passes, unless forgotten', async () => {
    for (const id of ['c', 'a', 'b']) {
      await store.store(id, request, 10);
      now += 1;
    }
    now += 5_000;
    expect(await store.takeDue(2, 1_000)).toEqual(['c', 'a']);
    expect(await store.takeDue(2, 1_000)).toEqual(['b']);
    expect(await store.takeDue(2, 1_000)).toEqual([]);
    await store.forgetDeadline('a');
    now += 1_000;
    expect(await store.takeDue(10, 1_000)).toEqual(['c', 'b']);
  });

  it('hands out copies: changing a returned request does not change the stored one', async () => {
    await store.store('a', request);
    const first = (await store.get('a'))!;
    first.prompt = 'changed';
    expect((await store.get('a'))!.prompt).toBe('fix the tests');
  });

  it('grants one delivery claim at a time, until completed, released or lapsed', async () => {
    await store.store('a', request);
    expect(await store.claimDelivery('a', 'first', 60)).toBe(true);
    expect(await store.claimDelivery('a', 'second', 60)).toBe(false);
    await store.releaseDelivery('a');
    expect(await store.claimDelivery('a', 'second', 60)).toBe(true);
    now += 60_000;
    expect(await store.claimDelivery('a', 'third', 60)).toBe(true);
    await store.completeDelivery('a');
    expect(await store.get('a')).toBeNull();
    expect(await store.claimDelivery('a', 'fourth', 60)).toBe(true);
  });

  it("answers a receipt's claim sent again as its own, extends and releases only its own", async () => {
    await store.store('a', request);
    expect(await store.claimDelivery('a', 'receipt', 10)).toBe(true);
    expect(await store.claimDelivery('a', 'receipt', 10)).toBe(true);
    await store.releaseDeliveryClaim('a', 'another');
    expect(await store.claimDelivery('a', 'another', 10)).toBe(false);
    await store.extendDeliveryClaim('a', 'another', 600);
    now += 10_000;
    expect(await store.deliveryUnderWay('a')).toBe(false);

    expect(await store.claimDelivery('a', 'receipt', 10)).toBe(true);
    await store.extendDeliveryClaim('a', 'receipt', 600);
    now += 599_000;
    expect(await store.claimDelivery('a', 'another', 10)).toBe(false);
    await store.releaseDeliveryClaim('a', 'receipt');
    expect(await store.claimDelivery('a', 'another', 10)).toBe(true);
  });

  it('says whether a delivery is under way, and marks a refusal notice once, for a day, apart from the claim', async () => {
    await store.store('a', request);
    expect(await store.deliveryUnderWay('a')).toBe(false);
    await store.claimDelivery('a', 'first', 60);
    expect(await store.deliveryUnderWay('a')).toBe(true);
    now += 60_000;
    expect(await store.deliveryUnderWay('a')).toBe(false);
    expect(await store.markRefusalNotice('a')).toBe(true);
    expect(await store.markRefusalNotice('a')).toBe(false);
    expect(await store.claimDelivery('a', 'second', 60)).toBe(true);
    now += 86_400_000;
    expect(await store.markRefusalNotice('a')).toBe(true);
  });

  it.each(['', 'a b', 'a:b', 'x'.repeat(256)])('refuses the id %p in every operation', async (id) => {
    await expect(store.store(id, request)).rejects.toBeInstanceOf(InvalidRequestIdError);
    await expect(store.get(id)).rejects.toThrow('Invalid request_id format');
    await expect(store.delete(id)).rejects.toBeInstanceOf(InvalidRequestIdError);
    expect(store.size).toBe(0);
  });

  it.each([0, -1, 1.5, 86_401])('refuses the TTL %p', async (ttl) => {
    await expect(store.store('a', request, ttl)).rejects.toThrow('ttlSeconds must be an integer between 1 and 86400');
    expect(store.size).toBe(0);
  });

  it('accepts a TTL of one day', async () => {
    await store.store('a', request, 86_400);
    now += 86_399_000;
    expect(await store.get('a')).toEqual(request);
  });
});
