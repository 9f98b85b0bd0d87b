import { BadRequestException, ServiceUnavailableException } from '@nestjs/common';
import { newReceiveCallback, pendingRequest, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { PendingRequestStoreError } from '../pending-requests/pending-request-store';
import { DELIVERY_CLAIM_TTL_SECONDS, ReceiveCallback } from './receive-callback.use-case';

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
    expect(await mocks.pending.claimDelivery('telegram-3-abc', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('sends nothing for a duplicate callback while the first is being delivered', async () => {
    const { sut, mocks, deliveries } = newReceiveCallback();
    await mocks.pending.store('telegram-4-abc', pending);
    await mocks.pending.claimDelivery('telegram-4-abc', DELIVERY_CLAIM_TTL_SECONDS);

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
    jest.spyOn(mocks.pending, 'get').mockRejectedValueOnce(new PendingRequestStoreError('Redis down'));

    const error = await thrownBy(sut.receive({}, { requestId: 'telegram-5-abc' }));

    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as ServiceUnavailableException).getResponse()).toEqual({
      received: false,
      error: 'Pending request store unavailable',
      request_id: 'telegram-5-abc',
    });
    expect(await mocks.pending.claimDelivery('telegram-5-abc', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
  });
});
