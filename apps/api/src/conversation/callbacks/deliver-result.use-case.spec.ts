import { RetryLaterError } from '@app/queue';
import { newDeliverResult, newJob, pendingRequest, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { TelegramApiError, TelegramConnectionError } from '../../adapters/telegram';
import { FORMAT_FAILURE_TEXT } from '../texts';
import { resultDeliveryOnceId, type ResultDeliveryJob } from '../result-deliveries.queue';
import { DELIVERY_CLAIM_TTL_SECONDS, RESULT_ONCE_TTL_SECONDS } from './receive-callback.use-case';
import { DeliverResult } from './deliver-result.use-case';
import { MAX_THROTTLED_WAIT_MS } from './delivery-policy';
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
const throttled = () => new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 0', 0);
const accepted = { ok: true, result: { message_id: 1, date: 0, chat: { id: 42, type: 'private', first_name: 'Ada' }, text: 'done' } } as const;

type Fixture = ReturnType<typeof newDeliverResult>;

/** Stores the request and claims its delivery, as ReceiveCallback does before queueing it. */
async function claimed(mocks: Fixture['mocks'], request = pending): Promise<void> {
  await mocks.pending.store(ID, request);
  await mocks.pending.claimDelivery(ID, 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS);
}

const once = { id: resultDeliveryOnceId(ID), ttlSeconds: RESULT_ONCE_TTL_SECONDS };

/** Queues the delivery as ReceiveCallback does, and waits until the queue has nothing left. */
async function delivered({ sut, queue }: Fixture, request = pending, delivery = result): Promise<void> {
  expect(await queue.add({ requestId: ID, request, result: delivery }, { once })).toMatchObject({ status: 'queued' });
  await sut.settled();
}

/** The process running the job died here: what it did before stays in the job's steps. */
class Killed extends Error {}

describe(DeliverResult.name, () => {
  silenceNestLogger();

  it('sends a queued result, then forgets the request and its claim', async () => {
    const fixture = newDeliverResult();
    const { sut, mocks } = fixture;
    await claimed(mocks);

    await delivered(fixture);

    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, 'a &lt; b', { parseMode: 'HTML', replyToMessageId: 101 });
    expect(await mocks.pending.get(ID)).toBeNull();
    expect(await mocks.pending.claimDelivery(ID, 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    expect(sut.size).toBe(0);
  });

  it("adds the run's figures and a code block in debug mode", async () => {
    const fixture = newDeliverResult();
    const { mocks } = fixture;
    mocks.switches.on.add('debug');
    await claimed(mocks);
    await delivered(fixture);
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: 9s\n\n📝 Output:\n<pre><code>a &lt; b</code></pre>',
    );
  });

  it('speaks the plain rendering to a user who spoke when voice output is allowed', async () => {
    const fixture = newDeliverResult();
    const { mocks } = fixture;
    mocks.switches.on.add('allow_audio_output');
    const spoken = { ...pending, originalWasAudio: true };
    await claimed(mocks, spoken);
    await delivered(fixture, spoken);
    expect(mocks.textToSpeech.synthesize).toHaveBeenCalledWith('a < b');
    expect(mocks.client.sendVoice).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('tries again after a transient failure, each wait spent in the queue rather than a worker', async () => {
    const fixture = newDeliverResult(3);
    const { mocks, queue } = fixture;
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(unreachable()).mockRejectedValueOnce(new TelegramApiError('sendMessage', 502, 'Bad Gateway'));
    await delivered(fixture);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(3);
    expect(await mocks.pending.get(ID)).toBeNull();
    expect(queue.outcomes).toEqual({ completed: 1, retried: 2, failed: 0 });
  });

  it('keeps the request for a replay when every try fails, and says nothing more to an unreachable Telegram', async () => {
    const fixture = newDeliverResult(2);
    const { mocks, queue } = fixture;
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValue(unreachable());
    await delivered(fixture);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(await mocks.pending.get(ID)).toEqual(pending);
    expect(await mocks.pending.claimDelivery(ID, 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    // The replay of the callback is queued again, not dropped as a duplicate of the job that gave up.
    expect(await queue.add({ requestId: ID, request: pending, result }, { once })).toMatchObject({ status: 'queued' });
  });

  it('does not retry a refusal, and tells the user the result could not be delivered', async () => {
    const fixture = newDeliverResult(3);
    const { mocks } = fixture;
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(new TelegramApiError('sendMessage', 400, 'Bad Request: message is too long'));
    await delivered(fixture);
    expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([
      'a &lt; b',
      '❌ Error processing cursor command result: Telegram API error: Bad Request: message is too long',
    ]);
    expect(await mocks.pending.get(ID)).toEqual(pending);
  });

  it('sends nothing when the bot the message came through is gone', async () => {
    const fixture = newDeliverResult();
    const { mocks } = fixture;
    const orphan = { ...pending, botId: 99 };
    await claimed(mocks, orphan);
    await delivered(fixture, orphan);
    expect(mocks.bots.findById).toHaveBeenCalledWith(99);
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(await mocks.pending.get(ID)).toEqual(orphan);
  });

  it('sends the format failure text when the result cannot be rendered', async () => {
    const fixture = newDeliverResult();
    const { mocks } = fixture;
    await claimed(mocks);
    const unrenderable = { ...result, output: { toString: () => 'x' } as unknown as string };
    await fixture.handler(newJob<ResultDeliveryJob>({ requestId: ID, request: pending, result: unrenderable }));
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(FORMAT_FAILURE_TEXT);
  });

  it('never repeats a message a process that died had sent: the next process only finishes the delivery', async () => {
    const { mocks, handler } = newDeliverResult();
    await claimed(mocks);
    const steps = new Map<string, unknown>();
    const data: ResultDeliveryJob = { requestId: ID, request: pending, result };
    jest.spyOn(mocks.pending, 'completeDelivery').mockRejectedValueOnce(new Killed('SIGKILL after the send'));

    await expect(handler(newJob(data, 1, steps))).rejects.toBeInstanceOf(Killed);
    expect(await mocks.pending.get(ID)).toEqual(pending);
    await handler(newJob(data, 1, steps));

    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(await mocks.pending.get(ID)).toBeNull();
  });

  it('sends the message and the whole output as steps of their own: neither goes twice after a crash between them', async () => {
    const { mocks, handler } = newDeliverResult();
    await claimed(mocks);
    const long = { ...result, output: 'line\n'.repeat(2_000) };
    const steps = new Map<string, unknown>();
    mocks.client.sendDocument.mockRejectedValueOnce(new Killed('SIGKILL while the file uploads'));

    await expect(handler(newJob({ requestId: ID, request: pending, result: long }, 1, steps))).resolves.toBeUndefined();
    expect(mocks.client.sendDocument).toHaveBeenCalledTimes(1);
    // The file's failure is logged, not retried: the message is not sent again for it.
    expect([...steps.keys()]).toEqual(['try-1', 'whole-output']);
    await handler(newJob({ requestId: ID, request: pending, result: long }, 1, steps));
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendDocument).toHaveBeenCalledTimes(1);
  });

  it('gives up a delivery cut short too often without sending, and releases it for a replayed callback', async () => {
    const { mocks, queue, giveUp } = newDeliverResult();
    await claimed(mocks);
    const forgetOnce = jest.spyOn(queue, 'forgetOnce');

    await giveUp(newJob<ResultDeliveryJob>({ requestId: ID, request: pending, result }, 1), 3);

    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(await mocks.pending.get(ID)).toEqual(pending);
    expect(await mocks.pending.claimDelivery(ID, 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    expect(forgetOnce).toHaveBeenCalledWith(resultDeliveryOnceId(ID));
  });

  it('counts the tries a process that died had made: the next process makes only the ones left', async () => {
    const { mocks, handler } = newDeliverResult(2);
    await claimed(mocks);
    const steps = new Map<string, unknown>([['try-1', { failed: 'Telegram unreachable', retryInMs: 1, tellUser: false }]]);
    mocks.client.sendMessage.mockRejectedValue(unreachable());

    await handler(newJob({ requestId: ID, request: pending, result }, 1, steps));

    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(await mocks.pending.get(ID)).toEqual(pending);
    expect(await mocks.pending.claimDelivery(ID, 'another-receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
  });

  it('counts deliveries running in this process, for the shutdown drain', async () => {
    const fixture = newDeliverResult();
    const { sut, mocks, queue } = fixture;
    await claimed(mocks);
    let release!: () => void;
    mocks.client.sendMessage.mockImplementationOnce(
      () => new Promise((resolve) => (release = () => resolve({ ok: true, result: { message_id: 1, date: 0, chat: { id: 42, type: 'private', first_name: 'Ada' }, text: 'done' } }))),
    );
    await queue.add({ requestId: ID, request: pending, result }, { once });
    while (mocks.client.sendMessage.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(sut.size).toBe(1);
    release();
    await sut.settled();
    expect(sut.size).toBe(0);
    expect(await mocks.pending.get(ID)).toBeNull();
  });

  it('waits out Telegram throttling without using up tries: a result throttled on every try is still delivered', async () => {
    const fixture = newDeliverResult(3);
    const { mocks } = fixture;
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(throttled()).mockRejectedValueOnce(throttled()).mockRejectedValueOnce(throttled());
    await delivered(fixture);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(4);
    expect(await mocks.pending.get(ID)).toBeNull();
  });

  it('waits out a 429 asking for more than a minute (a flood wait), without using up a try', async () => {
    const { mocks, handler } = newDeliverResult(1);
    await claimed(mocks);
    mocks.client.sendMessage.mockRejectedValueOnce(new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 240', 240));
    await expect(handler(newJob({ requestId: ID, request: pending, result }, 1, new Map()))).rejects.toMatchObject({
      name: 'RetryLaterError',
      delayMs: 240_000,
    });
    expect(await mocks.pending.get(ID)).toEqual(pending);
  });

  it('counts a 429 as a try once the delivery has waited out throttling for its whole budget', async () => {
    const { mocks, handler } = newDeliverResult(1);
    await claimed(mocks);
    const waited = { failed: 'Too Many Requests', retryInMs: MAX_THROTTLED_WAIT_MS, tellUser: false, throttledMs: MAX_THROTTLED_WAIT_MS };
    const steps = new Map<string, unknown>([['try-1', waited]]);
    mocks.client.sendMessage.mockRejectedValue(new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 1', 1));

    await handler(newJob({ requestId: ID, request: pending, result }, 1, steps));

    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(await mocks.pending.get(ID)).toEqual(pending);
  });

  it('never sends from two runs of one job at once: a run that finds the send begun waits instead', async () => {
    const { mocks, handler } = newDeliverResult();
    await claimed(mocks);
    const data: ResultDeliveryJob = { requestId: ID, request: pending, result };
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    let answer!: (value: typeof accepted) => void;
    mocks.client.sendMessage.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));

    // The first run lost its lock mid-send; BullMQ gave the job to a second run meanwhile.
    const first = handler(newJob(data, 1, steps, begun));
    while (mocks.client.sendMessage.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await expect(handler(newJob(data, 1, new Map(steps), begun))).rejects.toBeInstanceOf(RetryLaterError);
    answer(accepted);
    await first;
    // The run after the wait finds the first run's saved send and only finishes.
    await handler(newJob(data, 1, steps, begun));

    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    expect(await mocks.pending.get(ID)).toBeNull();
  });

  it('takes over a send whose run died before saving it, after waiting one lease for it', async () => {
    const { mocks, handler } = newDeliverResult();
    await claimed(mocks);
    const data: ResultDeliveryJob = { requestId: ID, request: pending, result };
    const steps = new Map<string, unknown>();
    const begun = new Set<string>();
    // SIGKILL while Telegram had not answered: the send is begun and never saved.
    mocks.client.sendMessage.mockImplementationOnce(() => new Promise(() => undefined));
    void handler(newJob(data, 1, steps, begun));
    while (mocks.client.sendMessage.mock.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));

    const wait = await handler(newJob(data, 1, steps, begun)).catch((error: unknown) => error);
    expect(wait).toBeInstanceOf(RetryLaterError);
    expect((wait as RetryLaterError).delayMs).toBeGreaterThanOrEqual(2 * 30_000);
    await handler(newJob(data, 1, steps, begun));

    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(await mocks.pending.get(ID)).toBeNull();
  });
});
