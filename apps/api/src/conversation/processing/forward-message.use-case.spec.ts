import { newForwardMessage, newJob, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { PendingRequestStoreError } from '../pending-requests/pending-request-store';
import { ForwardMessage } from './forward-message.use-case';

const message = { chatId: 42, messageId: 101, text: 'fix the tests', spoken: false };

describe(ForwardMessage.name, () => {
  silenceNestLogger();

  it('stores the pending request before cursor-runner is called, so a fast callback finds it', async () => {
    const { sut, mocks } = newForwardMessage();
    let storedWhenCalled: unknown;
    mocks.cursorRunner.executeAsync.mockImplementation(async (task) => {
      storedWhenCalled = await mocks.pending.get(task.id!);
      return { success: true };
    });

    expect(await sut.forward(mocks.bot, newJob(null), message)).toBe(true);
    expect(storedWhenCalled).toMatchObject({ chatId: 42, messageId: 101, prompt: 'fix the tests', botId: 7 });
  });

  it.each(['', '   ', '/start', '/HELP me', '/statusfoo'])('leaves %p to the local answers', async (text) => {
    const { sut, mocks } = newForwardMessage();
    expect(await sut.forward(mocks.bot, newJob(null), { ...message, text })).toBe(false);
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    expect(mocks.pending.size).toBe(0);
  });

  it('reuses the saved outcome on a retry instead of forwarding again', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    await sut.forward(mocks.bot, newJob(null, 1, steps), message);
    await sut.forward(mocks.bot, newJob(null, 2, steps), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
  });

  it('names a refusal without an error message', async () => {
    const { sut, mocks } = newForwardMessage();
    mocks.cursorRunner.executeAsync.mockResolvedValue({ success: false });
    await sut.forward(mocks.bot, newJob(null), message);
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '❌ Error: Failed to execute cursor command. cursor-runner refused the request',
    );
    expect(mocks.pending.size).toBe(0);
  });

  it('lets an unexpected failure through for a retry, without keeping the pending request', async () => {
    const { sut, mocks } = newForwardMessage();
    mocks.cursorRunner.executeAsync.mockRejectedValue(new TypeError('bug'));
    await expect(sut.forward(mocks.bot, newJob(null), message)).rejects.toThrow('bug');
    expect(mocks.pending.size).toBe(0);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('does not call cursor-runner when the pending request cannot be stored', async () => {
    const { sut, mocks } = newForwardMessage();
    jest.spyOn(mocks.pending, 'store').mockRejectedValue(new PendingRequestStoreError('Redis down'));
    await expect(sut.forward(mocks.bot, newJob(null), message)).rejects.toThrow('Redis down');
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
  });
});
