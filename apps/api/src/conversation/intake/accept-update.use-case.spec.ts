import { ServiceUnavailableException } from '@nestjs/common';
import { RequestValidationException } from '@app/http';
import { QueueUnavailableError } from '@app/queue';
import { newAcceptUpdate, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { UPDATE_DEDUPLICATION_TTL_SECONDS } from '../telegram-updates.queue';
import { AcceptUpdate } from './accept-update.use-case';

describe(AcceptUpdate.name, () => {
  silenceNestLogger();

  it('queues an update once per bot and update_id, with the request id it will be forwarded under', async () => {
    const { sut, mocks } = newAcceptUpdate();
    const update = { update_id: 10000001, message: { text: 'hi' } };

    expect(await sut.accept(mocks.bot, update)).toEqual({ status: 'queued', jobId: '1' });

    expect(mocks.queue.add).toHaveBeenCalledWith(
      { botId: 7, update, requestId: expect.stringMatching(/^telegram-\d+-[0-9a-f]{8}$/) },
      { once: { id: 'telegram:update:test-bot-digest:10000001', ttlSeconds: UPDATE_DEDUPLICATION_TTL_SECONDS } },
    );
  });

  it('passes on that a delivery was a repeat', async () => {
    const { sut, mocks } = newAcceptUpdate();
    mocks.queue.add.mockResolvedValue({ status: 'duplicate' });
    expect(await sut.accept(mocks.bot, { update_id: 1 })).toEqual({ status: 'duplicate' });
  });

  it.each([[null], [[1]], ['update'], [{}], [{ update_id: '1' }], [{ update_id: 1.5 }]])(
    'refuses %p, which is not an Update, without queueing it',
    async (body) => {
      const { sut, mocks } = newAcceptUpdate();
      await expect(sut.accept(mocks.bot, body)).rejects.toBeInstanceOf(RequestValidationException);
      expect(mocks.queue.add).not.toHaveBeenCalled();
    },
  );

  it('answers 503 when the queue cannot store the update, so Telegram delivers it again', async () => {
    const { sut, mocks } = newAcceptUpdate();
    mocks.queue.add.mockRejectedValue(new QueueUnavailableError('Redis down'));
    await expect(sut.accept(mocks.bot, { update_id: 1 })).rejects.toBeInstanceOf(ServiceUnavailableException);
  });

  it('lets any other failure through', async () => {
    const { sut, mocks } = newAcceptUpdate();
    mocks.queue.add.mockRejectedValue(new TypeError('bug'));
    await expect(sut.accept(mocks.bot, { update_id: 1 })).rejects.toThrow('bug');
  });
});
