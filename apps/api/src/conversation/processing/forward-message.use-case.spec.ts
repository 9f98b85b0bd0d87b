import { newForwardMessage, newJob, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { pollUntil } from '../../../../../test/support/poll';
import { CursorRunnerConnectionError, CursorRunnerHttpError, CursorRunnerTimeoutError } from '../../adapters/cursor-runner';
import { PendingRequestStoreError } from '../pending-requests/pending-request-store';
import { FORWARD_INTERRUPTED_TEXT } from '../texts';
import { ForwardMessage } from './forward-message.use-case';

const message = { chatId: 42, messageId: 101, text: 'fix the tests', spoken: false };
const REQUEST_ID = 'telegram-1767225600-0a1b2c3d';
const queued = { requestId: REQUEST_ID };
const call = { method: 'POST', path: '/cursor/execute/async' };

describe(ForwardMessage.name, () => {
  silenceNestLogger();

  it('stores the pending request before cursor-runner is called, so a fast callback finds it', async () => {
    const { sut, mocks } = newForwardMessage();
    let storedWhenCalled: unknown;
    mocks.cursorRunner.executeAsync.mockImplementation(async (task) => {
      storedWhenCalled = await mocks.pending.get(task.id!);
      return { success: true };
    });

    expect(await sut.forward(mocks.bot, newJob(queued), message)).toBe(true);
    expect(storedWhenCalled).toMatchObject({ chatId: 42, messageId: 101, prompt: 'fix the tests', botId: 7 });
  });

  it.each(['', '   ', '/start', '/HELP me', '/statusfoo'])('leaves %p to the local answers', async (text) => {
    const { sut, mocks } = newForwardMessage();
    expect(await sut.forward(mocks.bot, newJob(queued), { ...message, text })).toBe(false);
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    expect(mocks.pending.size).toBe(0);
  });

  it('forwards under the request id queued with the update', async () => {
    const { sut, mocks } = newForwardMessage();
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledWith(expect.objectContaining({ id: REQUEST_ID }));
    expect(await mocks.pending.get(REQUEST_ID)).not.toBeNull();
  });

  it('chooses the request id in a saved step for a job queued without one, so a retry keeps it', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    jest.spyOn(mocks.pending, 'store').mockRejectedValueOnce(new PendingRequestStoreError('Redis down'));
    await expect(sut.forward(mocks.bot, newJob({}, 1, steps), message)).rejects.toThrow('Redis down');
    const chosen = steps.get('request-id');
    expect(chosen).toMatch(/^telegram-\d+-[0-9a-f]{8}$/);

    await sut.forward(mocks.bot, newJob({}, 2, steps), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].id).toBe(chosen);
  });

  it('marks the call begun in the job before cursor-runner is called', async () => {
    const { sut, mocks } = newForwardMessage();
    const job = newJob(queued);
    let begunWhenCalled: boolean | undefined;
    mocks.cursorRunner.executeAsync.mockImplementation(async () => {
      begunWhenCalled = job.begun.has('forward');
      return { success: true };
    });
    await sut.forward(mocks.bot, job, message);
    expect(begunWhenCalled).toBe(true);
  });

  it('reuses the saved outcome on a retry instead of forwarding again', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    await sut.forward(mocks.bot, newJob(queued, 1, steps, begun), message);
    await sut.forward(mocks.bot, newJob(queued, 2, steps, begun), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  /**
   * A first attempt whose process dies while cursor-runner has the request: nothing after the call
   * runs. Returns the job's saved steps and marks as they were at the kill.
   */
  async function killedMidCall(sut: ForwardMessage, mocks: ReturnType<typeof newForwardMessage>['mocks']) {
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    mocks.cursorRunner.executeAsync.mockImplementationOnce(() => new Promise(() => undefined));
    void sut.forward(mocks.bot, newJob(queued, 1, steps, begun), message);
    await pollUntil(async () => mocks.cursorRunner.executeAsync.mock.calls.length, (calls) => calls === 1, 1_000, 5);
    return { steps: new Map(steps), begun: new Set(begun) };
  }

  it('after a kill mid-call, does not forward again: tells the chat once and keeps the pending request for a late callback', async () => {
    const { sut, mocks } = newForwardMessage();
    const atKill = await killedMidCall(sut, mocks);

    expect(await sut.forward(mocks.bot, newJob(queued, 1, atKill.steps, atKill.begun), message)).toBe(true);
    await sut.forward(mocks.bot, newJob(queued, 2, atKill.steps, atKill.begun), message);

    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, FORWARD_INTERRUPTED_TEXT, { parseMode: 'HTML', replyToMessageId: 101 });
    expect(await mocks.pending.get(REQUEST_ID)).toMatchObject({ chatId: 42, prompt: 'fix the tests' });
  });

  it('after a kill mid-call whose result has come since, tells the chat nothing and leaves no pending request behind', async () => {
    const { sut, mocks } = newForwardMessage();
    const atKill = await killedMidCall(sut, mocks);
    // cursor-runner had the request: its callback was taken and the result delivered (kept, pending request deleted).
    await mocks.pending.keepResult(REQUEST_ID, { result: { success: true, output: 'done' }, receivedAt: new Date().toISOString() });
    await mocks.pending.delete(REQUEST_ID);

    expect(await sut.forward(mocks.bot, newJob(queued, 1, atKill.steps, atKill.begun), message)).toBe(true);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(await mocks.pending.get(REQUEST_ID)).toBeNull();
  });

  it('after a kill mid-call whose result is being delivered, tells the chat nothing', async () => {
    const { sut, mocks } = newForwardMessage();
    const atKill = await killedMidCall(sut, mocks);
    expect(await mocks.pending.claimDelivery(REQUEST_ID, 'receipt-1', 60)).toBe(true);

    expect(await sut.forward(mocks.bot, newJob(queued, 1, atKill.steps, atKill.begun), message)).toBe(true);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(await mocks.pending.get(REQUEST_ID)).toMatchObject({ chatId: 42 });
  });

  it('treats a timeout as unknown: no second call, the chat told it may have been interrupted, the pending request kept', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    mocks.cursorRunner.executeAsync.mockRejectedValue(new CursorRunnerTimeoutError(call, 300_000));
    await sut.forward(mocks.bot, newJob(queued, 1, steps, begun), message);
    await sut.forward(mocks.bot, newJob(queued, 2, steps, begun), message);

    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage.mock.calls.map((sent) => sent[1])).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await mocks.pending.get(REQUEST_ID)).not.toBeNull();
  });

  it('treats a refused connection as not forwarded: the chat told why, the pending request dropped', async () => {
    const { sut, mocks } = newForwardMessage();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3001'), { code: 'ECONNREFUSED' });
    mocks.cursorRunner.executeAsync.mockRejectedValue(new CursorRunnerConnectionError(call, refused));
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '❌ Error: Failed to execute cursor command. Failed to connect to cursor-runner: connect ECONNREFUSED 127.0.0.1:3001',
    );
    expect(mocks.pending.size).toBe(0);
  });

  it('treats a connection reset as unknown: cursor-runner may have read the request', async () => {
    const { sut, mocks } = newForwardMessage();
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    mocks.cursorRunner.executeAsync.mockRejectedValue(new CursorRunnerConnectionError(call, reset));
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.client.sendMessage.mock.calls.map((sent) => sent[1])).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await mocks.pending.get(REQUEST_ID)).not.toBeNull();
  });

  it.each([502, 504])('treats a gateway %i in front of cursor-runner as unknown: the request may have reached it', async (status) => {
    const { sut, mocks } = newForwardMessage();
    mocks.cursorRunner.executeAsync.mockRejectedValue(new CursorRunnerHttpError(call, status, `HTTP ${status}`, '<html>gateway</html>'));
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.client.sendMessage.mock.calls.map((sent) => sent[1])).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await mocks.pending.get(REQUEST_ID)).not.toBeNull();
  });

  it("treats cursor-runner's own error status as a refusal: the chat told why, the pending request dropped", async () => {
    const { sut, mocks } = newForwardMessage();
    mocks.cursorRunner.executeAsync.mockRejectedValue(new CursorRunnerHttpError(call, 500, 'repository not found', { error: 'repository not found' }));
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe('❌ Error: Failed to execute cursor command. repository not found');
    expect(mocks.pending.size).toBe(0);
  });

  it('names a refusal without an error message', async () => {
    const { sut, mocks } = newForwardMessage();
    mocks.cursorRunner.executeAsync.mockResolvedValue({ success: false });
    await sut.forward(mocks.bot, newJob(queued), message);
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '❌ Error: Failed to execute cursor command. cursor-runner refused the request',
    );
    expect(mocks.pending.size).toBe(0);
  });

  it('lets an unexpected failure of the call through; the retry does not call again but tells the chat', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    mocks.cursorRunner.executeAsync.mockRejectedValue(new TypeError('bug'));
    await expect(sut.forward(mocks.bot, newJob(queued, 1, steps, begun), message)).rejects.toThrow('bug');
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();

    await sut.forward(mocks.bot, newJob(queued, 2, steps, begun), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage.mock.calls.map((sent) => sent[1])).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await mocks.pending.get(REQUEST_ID)).not.toBeNull();
  });

  it('does not call cursor-runner when the pending request cannot be stored, and a retry still forwards', async () => {
    const { sut, mocks } = newForwardMessage();
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    jest.spyOn(mocks.pending, 'store').mockRejectedValueOnce(new PendingRequestStoreError('Redis down'));
    await expect(sut.forward(mocks.bot, newJob(queued, 1, steps, begun), message)).rejects.toThrow('Redis down');
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();

    await sut.forward(mocks.bot, newJob(queued, 2, steps, begun), message);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });
});
