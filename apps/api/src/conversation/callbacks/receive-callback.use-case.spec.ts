import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';
import { newReceiveCallback, pendingRequest, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { QueueUnavailableError } from '@app/queue';
import { PendingRequestStoreError } from '../pending-requests/pending-request-store';
import { resultDeliveryOnceId } from '../result-deliveries.queue';
import { CALLBACK_RETRY_PAUSE_MS, DELIVERY_CLAIM_TTL_SECONDS, ReceiveCallback } from './receive-callback.use-case';

const pending = pendingRequest();

async function thrownBy(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe(ReceiveCallback.name, () => {
  silenceNestLogger();

  it('accepts a result for a pending request and delivers it after answering', async () => {
    const { sut, mocks, deliveries } = newReceiveCallback();
    await mocks.pending.store('telegram-1-abc', pending);

    const answer = await sut.receive({}, { requestId: 'telegram-1-abc', success: true, output: 'all <green>' });

    expect(answer).toEqual({ received: true, request_id: 'telegram-1-abc' });
    await deliveries.settled();
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, 'all &lt;green&gt;', { parseMode: 'HTML', replyToMessageId: 101 });
    expect(await mocks.pending.get('telegram-1-abc')).toBeNull();
  });

  it('claims for as long as one receipt can until the job is stored, then extends its own claim to a delivery\'s 15 min', async () => {
    const { sut, mocks, deliveries } = newReceiveCallback(2_000);
    await mocks.pending.store('telegram-1-ttl', pending);
    const claim = jest.spyOn(mocks.pending, 'claimDelivery');
    const extend = jest.spyOn(mocks.pending, 'extendDeliveryClaim');

    await sut.receive({}, { requestId: 'telegram-1-ttl', success: true, output: 'done' });

    // CALLBACK_REDIS_WAIT_MS 2 s + 4 × REDIS_COMMAND_TIMEOUT_MS 10 ms, in whole seconds, + 1 s.
    expect(claim).toHaveBeenCalledWith('telegram-1-ttl', expect.any(String), 4);
    expect(extend).toHaveBeenCalledWith('telegram-1-ttl', claim.mock.calls[0][1], DELIVERY_CLAIM_TTL_SECONDS);
    await deliveries.settled();
  });

  it('reads request_id from the query string when the body has none', async () => {
    const { sut, mocks, deliveries } = newReceiveCallback();
    await mocks.pending.store('telegram-2-abc', pending);
    expect(await sut.receive({ request_id: 'telegram-2-abc' }, { success: false, error: 'exit 1' })).toEqual({
      received: true,
      request_id: 'telegram-2-abc',
    });
    await deliveries.settled();
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe('❌ exit 1');
  });

  it('answers 400 without a request id', async () => {
    const { sut } = newReceiveCallback();
    const error = await thrownBy(sut.receive({}, { success: true }));
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toEqual({ error: 'request_id is required' });
  });

  it('answers 400 for a request id the store cannot hold', async () => {
    const { sut } = newReceiveCallback();
    const error = await thrownBy(sut.receive({}, { requestId: 'a:b' }));
    expect((error as BadRequestException).getResponse()).toEqual({ error: 'Invalid request_id format' });
  });

  it('says "Request not found" for an unknown request and leaves no claim behind', async () => {
    const { sut, mocks } = newReceiveCallback();
    expect(await sut.receive({}, { requestId: 'telegram-3-abc' })).toEqual({ received: true, message: 'Request not found' });
    expect(await mocks.pending.claimDelivery('telegram-3-abc', 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('sends nothing for a duplicate callback while the first is being delivered', async () => {
    const { sut, mocks, deliveries } = newReceiveCallback();
    await mocks.pending.store('telegram-4-abc', pending);
    await mocks.pending.claimDelivery('telegram-4-abc', 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS);

    expect(await sut.receive({}, { requestId: 'telegram-4-abc', output: 'x' })).toEqual({
      received: true,
      request_id: 'telegram-4-abc',
      message: 'Already being delivered',
    });
    await deliveries.settled();
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('answers 503 when the store cannot answer, releasing the claim so a replay can deliver', async () => {
    const { sut, mocks } = newReceiveCallback();
    await mocks.pending.store('telegram-5-abc', pending);
    jest.spyOn(mocks.pending, 'find').mockRejectedValueOnce(new PendingRequestStoreError('Redis down'));

    const error = await thrownBy(sut.receive({}, { requestId: 'telegram-5-abc' }));

    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as ServiceUnavailableException).getResponse()).toEqual({
      received: false,
      error: 'Pending request store unavailable',
      request_id: 'telegram-5-abc',
    });
    expect(await mocks.pending.claimDelivery('telegram-5-abc', 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
  });

  it('answers only once the result is stored in the delivery queue, once per request id', async () => {
    const { sut, mocks, queue, deliveries } = newReceiveCallback();
    await mocks.pending.store('telegram-6-abc', pending);
    const realAdd = queue.add.bind(queue);
    let store!: () => void;
    const stored = new Promise<void>((resolve) => (store = resolve));
    const add = jest.spyOn(queue, 'add').mockImplementationOnce(async (data, options) => {
      await stored;
      return realAdd(data, options);
    });
    let answered = false;
    const answer = sut.receive({}, { requestId: 'telegram-6-abc', success: true, output: 'kept' }).then((value) => {
      answered = true;
      return value;
    });
    while (add.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    store();
    expect(await answer).toEqual({ received: true, request_id: 'telegram-6-abc' });
    expect(add.mock.calls[0][0]).toEqual({
      requestId: 'telegram-6-abc',
      request: pending,
      result: expect.objectContaining({ output: 'kept' }),
    });
    expect(add.mock.calls[0][1]).toEqual({ once: { id: resultDeliveryOnceId('telegram-6-abc'), ttlSeconds: 86_400 } });
    await deliveries.settled();
    expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual(['kept']);
  });

  it('answers "Already being delivered" when the result is already queued though its claim expired', async () => {
    const { sut, mocks, queue } = newReceiveCallback();
    await mocks.pending.store('telegram-7-abc', pending);
    jest.spyOn(queue, 'add').mockResolvedValueOnce({ status: 'duplicate' });
    const extend = jest.spyOn(mocks.pending, 'extendDeliveryClaim');
    expect(await sut.receive({}, { requestId: 'telegram-7-abc', output: 'x' })).toEqual({
      received: true,
      request_id: 'telegram-7-abc',
      message: 'Already being delivered',
    });
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    // A job of the request is queued: the claim lasts as a delivery may, so refusal notices stay quiet meanwhile.
    expect(extend).toHaveBeenCalledWith('telegram-7-abc', expect.any(String), DELIVERY_CLAIM_TTL_SECONDS);
  });

  it('answers 503 when the queue cannot take the result, releasing the claim so a replay can deliver', async () => {
    const { sut, mocks, queue } = newReceiveCallback();
    await mocks.pending.store('telegram-8-abc', pending);
    jest.spyOn(queue, 'add').mockRejectedValueOnce(new QueueUnavailableError('no answer from Redis within 1000 ms'));

    const error = await thrownBy(sut.receive({}, { requestId: 'telegram-8-abc', output: 'for a replay' }));

    expect((error as ServiceUnavailableException).getResponse()).toEqual({
      received: false,
      error: 'Pending request store unavailable',
      request_id: 'telegram-8-abc',
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await mocks.pending.claimDelivery('telegram-8-abc', 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    expect(await mocks.pending.get('telegram-8-abc')).toEqual(pending);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  describe('while Redis cannot take it (CALLBACK_REDIS_WAIT_MS)', () => {
    it('tries again until Redis takes it, then answers 200 and delivers it once', async () => {
      const { sut, mocks, queue, deliveries } = newReceiveCallback(5_000);
      await mocks.pending.store('telegram-9-abc', pending);
      jest
        .spyOn(mocks.pending, 'find')
        .mockRejectedValueOnce(new PendingRequestStoreError('Redis down'))
        .mockRejectedValueOnce(new PendingRequestStoreError('Redis down'));
      jest.spyOn(queue, 'add').mockRejectedValueOnce(new QueueUnavailableError('no answer from Redis within 1000 ms'));
      const started = Date.now();

      const answer = await sut.receive({}, { requestId: 'telegram-9-abc', success: true, output: 'kept' });

      expect(answer).toEqual({ received: true, request_id: 'telegram-9-abc' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * CALLBACK_RETRY_PAUSE_MS - 5);
      await deliveries.settled();
      expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual(['kept']);
    });

    it('answers 503 once the wait is over, with the claim released for a replay', async () => {
      const { sut, mocks } = newReceiveCallback(1_200);
      await mocks.pending.store('telegram-10-abc', pending);
      const find = jest.spyOn(mocks.pending, 'find').mockRejectedValue(new PendingRequestStoreError('Redis down'));
      const started = Date.now();

      const error = await thrownBy(sut.receive({}, { requestId: 'telegram-10-abc' }));

      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      // Tries at 0, 500 and 1 000 ms; no pause that would end past the wait.
      expect(find).toHaveBeenCalledTimes(3);
      expect(elapsed).toBeGreaterThanOrEqual(2 * CALLBACK_RETRY_PAUSE_MS - 5);
      expect(elapsed).toBeLessThan(1_200);
      find.mockRestore();
      expect(await mocks.pending.claimDelivery('telegram-10-abc', 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    });

    it('answers 503 at once when the app begins to shut down during the wait', async () => {
      const { sut, mocks } = newReceiveCallback(20_000);
      await mocks.pending.store('telegram-11-abc', pending);
      const find = jest.spyOn(mocks.pending, 'find').mockRejectedValue(new PendingRequestStoreError('Redis down'));
      const answer = thrownBy(sut.receive({}, { requestId: 'telegram-11-abc' }));
      while (find.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const stoppedAt = Date.now();

      sut.onModuleDestroy();

      expect(await answer).toBeInstanceOf(ServiceUnavailableException);
      expect(Date.now() - stoppedAt).toBeLessThan(100);
      expect(find).toHaveBeenCalledTimes(1);
    });
  });
});
