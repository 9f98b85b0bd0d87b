import { newDeliverResult, pendingRequest, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { TelegramApiError, TelegramConnectionError } from '../../adapters/telegram';
import { FORMAT_FAILURE_TEXT } from '../texts';
import { DELIVERY_CLAIM_TTL_SECONDS } from './receive-callback.use-case';
import { DeliverResult } from './deliver-result.use-case';
import type { CallbackResult } from './result-message';

const ID = 'telegram-1-abc';
const pending = pendingRequest();
const result: CallbackResult = {
  success: true,
  iterations: 3,
  maxIterations: 25,
  output: 'a < b',
  error: undefined,
  exitCode: 0,
  duration: '9s',
};
const unreachable = () => new TelegramConnectionError('sendMessage', 'connect ECONNREFUSED', 'ECONNREFUSED');

/** Stores the request and claims its delivery, as ReceiveCallback does before submitting. */
async function claimed(mocks: ReturnType<typeof newDeliverResult>['mocks'], request = pending): Promise<void> {
  await mocks.pending.store(ID, request);
  await mocks.pending.claimDelivery(ID, DELIVERY_CLAIM_TTL_SECONDS);
}

describe(DeliverResult.name, () => {
  silenceNestLogger();

  it('sends the result after the callback has been answered, then forgets the request', async () => {
    const { sut, mocks } = newDeliverResult();
    await claimed(mocks);

    await sut.submit(ID, pending, result);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(sut.size).toBe(1);
    await sut.settled();

    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, 'a &lt; b', { parseMode: 'HTML', replyToMessageId: 101 });
    expect(await mocks.pending.get(ID)).toBeNull();
    expect(sut.size).toBe(0);
  });

  it("adds the run's figures and a code block in debug mode", async () => {
    const { sut, mocks } = newDeliverResult();
    mocks.switches.on.add('debug');
    await claimed(mocks);
    await sut.submit(ID, pending, result);
    await sut.settled();
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: 9s\n\n📝 Output:\n<pre><code>a &lt; b</code></pre>',
    );
  });

  it('speaks the plain rendering to a user who spoke when voice output is allowed', async () => {
    const { sut, mocks } = newDeliverResult();
    mocks.switches.on.add('allow_audio_output');
    const spoken = { ...pending, originalWasAudio: true };
    await claimed(mocks, spoken);
    await sut.submit(ID, spoken, result);
    await sut.settled();
    expect(mocks.textToSpeech.synthesize).toHaveBeenCalledWith('a < b');
    expect(mocks.client.sendVoice).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('tries again after a transient failure', async () => {
    const { sut, mocks } = newDeliverResult(3);
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(unreachable()).mockRejectedValueOnce(new TelegramApiError('sendMessage', 502, 'Bad Gateway'));
    await sut.submit(ID, pending, result);
    await sut.settled();
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(3);
    expect(await mocks.pending.get(ID)).toBeNull();
  });

  it('keeps the request for a replay when every try fails, and says nothing more to an unreachable Telegram', async () => {
    const { sut, mocks } = newDeliverResult(2);
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValue(unreachable());
    await sut.submit(ID, pending, result);
    await sut.settled();
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(await mocks.pending.get(ID)).toEqual(pending);
    expect(await mocks.pending.claimDelivery(ID, DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
  });

  it('does not retry a refusal, and tells the user the result could not be delivered', async () => {
    const { sut, mocks } = newDeliverResult(3);
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(new TelegramApiError('sendMessage', 400, 'Bad Request: message is too long'));
    await sut.submit(ID, pending, result);
    await sut.settled();
    expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([
      'a &lt; b',
      '❌ Error processing cursor command result: Telegram API error: Bad Request: message is too long',
    ]);
    expect(await mocks.pending.get(ID)).toEqual(pending);
  });

  it('sends nothing when the bot the message came through is gone', async () => {
    const { sut, mocks } = newDeliverResult();
    const orphan = { ...pending, botId: 99 };
    await claimed(mocks, orphan);
    await sut.submit(ID, orphan, result);
    await sut.settled();
    expect(mocks.bots.findById).toHaveBeenCalledWith(99);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(await mocks.pending.get(ID)).toEqual(orphan);
  });

  it('sends the format failure text when the result cannot be rendered', async () => {
    const { sut, mocks } = newDeliverResult();
    await claimed(mocks);
    const unrenderable = { ...result, output: { toString: () => 'x' } as unknown as string };
    await sut.submit(ID, pending, unrenderable);
    await sut.settled();
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(FORMAT_FAILURE_TEXT);
  });

  it('finishes deliveries under way before shutdown, and delivers later ones before answering', async () => {
    const { sut, mocks } = newDeliverResult();
    await claimed(mocks);
    let release!: () => void;
    mocks.client.sendMessage.mockImplementationOnce(
      () => new Promise((resolve) => (release = () => resolve({ ok: true, result: { message_id: 1, date: 0, chat: { id: 42, type: 'private', first_name: 'Ada' }, text: 'done' } }))),
    );
    await sut.submit(ID, pending, result);
    await new Promise((resolve) => setImmediate(resolve));

    const shutdown = sut.beforeApplicationShutdown();
    expect(sut.size).toBe(1);
    release();
    await shutdown;
    expect(sut.size).toBe(0);
    expect(await mocks.pending.get(ID)).toBeNull();

    await mocks.pending.store('telegram-2-abc', pending);
    await sut.submit('telegram-2-abc', pending, result);
    expect(sut.size).toBe(0);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
  });
});
