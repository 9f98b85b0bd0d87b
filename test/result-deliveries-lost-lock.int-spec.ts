import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { loadConfig } from '@app/config';
import { createJobQueue, type JobQueue } from '@app/queue';
import { TelegramTransport, HttpTelegramClient } from '../apps/api/src/adapters/telegram';
import type { TextToSpeech } from '../apps/api/src/adapters/elevenlabs';
import {
  BotLookup,
  ChatReplies,
  DELIVERY_CLAIM_TTL_SECONDS,
  DeliverResult,
  deliveryClaimKey,
  keptResultKey,
  pendingRequestKey,
  RedisPendingRequestStore,
  RESULT_DELIVERIES_QUEUE,
  SendResult,
  SettingSwitches,
  type ResultDeliveryJob,
} from '../apps/api/src/conversation';
import { tokenDigestOf, type TelegramBotHandle } from '../apps/api/src/telegram';
import { FakeTelegram } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { testRedisUrl } from './support/test-app';

const TOKEN = '717171:lost-lock-token';
const CHAT = 7_100_001;
/**
 * One Bot API call's deadline: long enough for the held send to outlast the lock's loss and the
 * stalled-job check; a run waits two of these and 5 s (25 s) before taking over a send.
 */
const TELEGRAM_TIMEOUT_MS = 10_000;

/** The bot the delivery goes through: the one bot of a database this test does not need. */
class OneBot extends BotLookup {
  constructor(private readonly bot: TelegramBotHandle) {
    super();
  }

  async findById(): Promise<TelegramBotHandle | null> {
    return this.bot;
  }

  async usernameOf(): Promise<string | null> {
    return null;
  }
}

class AllOff extends SettingSwitches {
  async isEnabled(): Promise<boolean> {
    return false;
  }
}

const noSpeech = { isConfigured: false, synthesize: () => Promise.reject(new Error('no speech here')) } as unknown as TextToSpeech;

/**
 * Two workers on one real Redis run the same result delivery at once, as happens when the first
 * run's BullMQ lock expires while it still works (its event loop or its connection stalled): the
 * lock is deleted here while the first run's send waits for Telegram's answer, and BullMQ's
 * stalled-job check gives the job to a worker again. The second run must not send; the result
 * reaches the chat once.
 */
describe('a result delivery whose lock was lost mid-send', () => {
  const prefix = `t-lost-lock-${randomUUID().slice(0, 8)}`;
  const requestId = `telegram-${Date.now()}-${randomUUID().slice(0, 8)}`;
  let commands: Redis;
  let telegram: FakeTelegram;
  let transport: TelegramTransport;
  const queues: JobQueue<ResultDeliveryJob>[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    commands = new Redis(testRedisUrl());
    telegram = await FakeTelegram.start(TOKEN);
    transport = new TelegramTransport({ baseUrl: telegram.url, timeoutMs: TELEGRAM_TIMEOUT_MS });
  });
  afterAll(async () => {
    for (const queue of queues) {
      await queue.stopProcessing(1_000);
      await queue.close();
    }
    transport.onApplicationShutdown();
    await telegram.stop();
    await commands.del(pendingRequestKey(requestId), deliveryClaimKey(requestId), keptResultKey(requestId));
    await removeRedisKeys(testRedisUrl(), `${prefix}:`);
    await commands.quit();
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']);
  });

  /** One worker process: its queue connection and its delivery use case. */
  async function worker(): Promise<JobQueue<ResultDeliveryJob>> {
    const config = loadConfig({
      NODE_ENV: 'test',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      QUEUE_LOCK_DURATION_MS: '1000',
      QUEUE_STALLED_INTERVAL_MS: '500',
      TELEGRAM_TIMEOUT_MS: String(TELEGRAM_TIMEOUT_MS),
    });
    const queue = await createJobQueue(RESULT_DELIVERIES_QUEUE, config, commands);
    queues.push(queue);
    const bot: TelegramBotHandle = { id: 1, name: 'lost-lock-bot', client: new HttpTelegramClient(TOKEN, tokenDigestOf(TOKEN), transport) };
    const store = new RedisPendingRequestStore(commands, `${prefix}:pending-deadlines`);
    const deliveries = new DeliverResult(queue, new SendResult(new OneBot(bot), new ChatReplies(noSpeech, new AllOff()), new AllOff()), store, config);
    deliveries.onApplicationBootstrap();
    return queue;
  }

  it('sends the result once: the run given the job meanwhile waits, and the run after it finishes', async () => {
    const request = { chatId: CHAT, messageId: 5, prompt: 'p', originalWasAudio: false, createdAt: new Date().toISOString(), botId: 1 };
    const store = new RedisPendingRequestStore(commands, `${prefix}:pending-deadlines`);
    await store.store(requestId, request);
    expect(await store.claimDelivery(requestId, 'receipt', DELIVERY_CLAIM_TTL_SECONDS)).toBe(true);
    let release!: () => void;
    telegram.failNext(TOKEN, 'sendMessage', {
      release: new Promise<void>((resolve) => (release = resolve)),
      body: { ok: true, result: { message_id: 1, date: 0, chat: { id: CHAT, type: 'private' }, text: 'the result' } },
    });

    const first = await worker();
    const added = await first.add({
      requestId,
      request,
      result: { success: true, iterations: 1, maxIterations: 25, output: 'the result', error: undefined, exitCode: 0, duration: undefined },
    });
    expect(added.status).toBe('queued');
    const jobId = (added as { jobId: string }).jobId;
    await pollUntil(async () => telegram.calls('sendMessage').length, (count) => count === 1, 10_000, 20);

    // The first run's lock is gone while its send is held: the job is given to a worker again.
    await worker();
    await commands.del(`${prefix}:result-deliveries:${jobId}:lock`);
    const delayed = () => commands.zscore(`${prefix}:result-deliveries:delayed`, jobId);
    expect((await pollUntil(delayed, (score) => score !== null, 10_000, 20)).value).not.toBeNull();
    expect(telegram.calls('sendMessage')).toHaveLength(1);

    release();
    // The run after the wait reads the first run's saved send and ends the job.
    const queued = async () => {
      const depth = await first.depth();
      return depth.waiting + depth.active + depth.delayed;
    };
    expect((await pollUntil(queued, (count) => count === 0, 3 * TELEGRAM_TIMEOUT_MS + 10_000, 100)).value).toBe(0);
    expect(await commands.exists(pendingRequestKey(requestId))).toBe(0);

    expect(telegram.calls('sendMessage').map((call) => [call.params.chat_id, call.request.answeredWith])).toEqual([[CHAT, 200]]);
    expect(telegram.deliveredMessages(CHAT).map((message) => message.text)).toEqual(['the result']);
  }, 90_000);
});
