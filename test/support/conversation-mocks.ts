import { Logger } from '@nestjs/common';
import { loadConfig, type AppConfig } from '@app/config';
import { InProcessJobQueue, type Job, type JobQueue } from '@app/queue';
import type { CursorRunnerClient } from '../../apps/api/src/adapters/cursor-runner';
import type { SpeechToText, TextToSpeech } from '../../apps/api/src/adapters/elevenlabs';
import type { TelegramClient } from '../../apps/api/src/adapters/telegram';
import {
  AcceptUpdate,
  AnswerLocally,
  ChatReplies,
  DeliverResult,
  ForwardMessage,
  InMemoryPendingRequestStore,
  ProcessUpdate,
  ReceiveCallback,
  RESULT_DELIVERIES_QUEUE,
  SendResult,
  StartConversation,
  type BotLookup,
  type FileDownloads,
  type PendingRequest,
  type ResultDeliveryJob,
  type SettingSwitches,
  type TelegramUpdateJob,
} from '../../apps/api/src/conversation';
import type { TelegramBotHandle } from '../../apps/api/src/telegram';

/**
 * Unit-test wiring of the conversation use cases, in the `{ sut, mocks }` style: every port is a
 * fake (jest mocks, an in-memory pending store, a job whose steps live in a map), the use cases
 * are built by hand, nothing boots Nest. Each `new…()` builds a fresh set.
 */

/** The Bot API client of the bot the conversation runs on; every call succeeds unless told otherwise. */
export function newTelegramClientMock(): jest.Mocked<TelegramClient> {
  const message = { ok: true as const, result: { message_id: 1, date: 0, chat: { id: 0, type: 'private' } } };
  return {
    enabled: true,
    tokenDigest: 'test-bot-digest',
    sendMessage: jest.fn().mockResolvedValue(message),
    sendVoice: jest.fn().mockResolvedValue(message),
    sendDocument: jest.fn().mockResolvedValue(message),
    getMe: jest.fn().mockResolvedValue({ ok: true, result: { id: 7, is_bot: true, first_name: 'Jarek', username: 'jarek_test_bot' } }),
    getFile: jest.fn().mockResolvedValue(null),
    fetchFile: jest.fn().mockResolvedValue(null),
    downloadFile: jest.fn().mockResolvedValue(null),
    setWebhook: jest.fn().mockResolvedValue({ ok: true, result: true }),
    deleteWebhook: jest.fn().mockResolvedValue({ ok: true, result: true }),
    getWebhookInfo: jest.fn().mockResolvedValue(null),
    answerCallbackQuery: jest.fn().mockResolvedValue({ ok: true, result: true }),
  };
}

/** Settings switches held in a set: `mocks.switches.on.add('debug')` turns one on. */
export function newSwitchesMock(): jest.Mocked<SettingSwitches> & { on: Set<string> } {
  const on = new Set<string>();
  return { on, isEnabled: jest.fn(async (name: string) => on.has(name)) };
}

/**
 * A queued job's attempt; `steps` holds saved step results and `begun` the effects marked begun
 * (`Job.begin`). Pass both to a later attempt to play a retry, or a redelivery after a kill.
 */
export interface FakeJob<T> extends Job<T> {
  readonly steps: Map<string, unknown>;
  readonly begun: Set<string>;
}

export function newJob<T>(data: T, attempt = 1, steps = new Map<string, unknown>(), begun = new Set<string>()): FakeJob<T> {
  const maxAttempts = 3;
  return {
    id: 'job-1',
    data,
    attempt,
    maxAttempts,
    isFinalAttempt: attempt >= maxAttempts,
    steps,
    begun,
    async step<R>(name: string, work: () => Promise<R>): Promise<R> {
      if (steps.has(name)) return steps.get(name) as R;
      const result = await work();
      steps.set(name, result ?? null);
      return result;
    },
    async begin(name: string): Promise<boolean> {
      if (begun.has(name)) return false;
      begun.add(name);
      return true;
    },
  };
}

/** A message forwarded through the test bot (id 7) from chat 42, waiting for its result. */
export function pendingRequest(overrides: Partial<PendingRequest> = {}): PendingRequest {
  return {
    chatId: 42,
    messageId: 101,
    prompt: 'fix the tests',
    originalWasAudio: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    botId: 7,
    ...overrides,
  };
}

export function newQueueMock(): jest.Mocked<JobQueue<TelegramUpdateJob>> {
  return {
    name: 'telegram-updates',
    durable: false,
    add: jest.fn().mockResolvedValue({ status: 'queued', jobId: '1' }),
    forgetOnce: jest.fn().mockResolvedValue(undefined),
    process: jest.fn(),
    consuming: jest.fn().mockReturnValue(true),
    stopProcessing: jest.fn().mockResolvedValue(undefined),
    close: jest.fn().mockResolvedValue(undefined),
    depth: jest.fn().mockResolvedValue({ waiting: 0, active: 0, delayed: 0 }),
    outcomes: { completed: 0, retried: 0, failed: 0 },
  };
}

/**
 * Config with deliveries tried `attempts` times, 1 ms apart, a 2 s shutdown budget, and a callback
 * Redis cannot take answered 503 after `callbackRedisWaitMs` of tries (none by default).
 */
export function testConfig(attempts = 3, callbackRedisWaitMs = 0): AppConfig {
  return loadConfig(
    {
      CALLBACK_DELIVERY_ATTEMPTS: String(attempts),
      CALLBACK_DELIVERY_RETRY_DELAY_MS: '1',
      SHUTDOWN_TIMEOUT_MS: '2000',
      CALLBACK_REDIS_WAIT_MS: String(callbackRedisWaitMs),
      // The tries of a callback Redis cannot take fit the wait by this budget.
      REDIS_COMMAND_TIMEOUT_MS: '10',
    },
    '/srv/app',
  );
}

export function newConversationMocks() {
  const client = newTelegramClientMock();
  const bot: TelegramBotHandle = { id: 7, name: 'test-bot', client };
  const bots: jest.Mocked<BotLookup> = {
    findById: jest.fn(async (id) => (id === bot.id ? bot : null)),
    usernameOf: jest.fn(async (_bot: TelegramBotHandle): Promise<string | null> => 'jarek_test_bot'),
  };
  const files: jest.Mocked<FileDownloads> = {
    download: jest.fn().mockResolvedValue({ bytes: Buffer.from('ogg'), filePath: 'voice/file_1.oga', fileName: 'file_1.oga' }),
  };
  const speechToText: jest.Mocked<SpeechToText> = { isConfigured: true, transcribe: jest.fn().mockResolvedValue('fix the tests') };
  const textToSpeech: jest.Mocked<TextToSpeech> = { isConfigured: true, synthesize: jest.fn().mockResolvedValue(Buffer.from('mp3')) };
  const cursorRunner: jest.Mocked<CursorRunnerClient> = {
    execute: jest.fn(),
    executeAsync: jest.fn().mockResolvedValue({ success: true, message: 'Execution started' }),
    newConversation: jest.fn().mockResolvedValue({ success: true, conversationId: 'c-1', queueType: 'telegram' }),
    repositoryFiles: jest.fn(),
  };
  return {
    bot,
    client,
    bots,
    files,
    speechToText,
    textToSpeech,
    cursorRunner,
    switches: newSwitchesMock(),
    pending: new InMemoryPendingRequestStore(),
    queue: newQueueMock(),
  };
}

export type ConversationMocks = ReturnType<typeof newConversationMocks>;

function replies(mocks: ConversationMocks): ChatReplies {
  return new ChatReplies(mocks.textToSpeech, mocks.switches);
}

function forwarding(mocks: ConversationMocks): ForwardMessage {
  return new ForwardMessage(mocks.cursorRunner, mocks.pending, replies(mocks), mocks.switches);
}

export function newAcceptUpdate() {
  const mocks = newConversationMocks();
  return { sut: new AcceptUpdate(mocks.queue), mocks };
}

export function newProcessUpdate() {
  const mocks = newConversationMocks();
  const reply = replies(mocks);
  const sut = new ProcessUpdate(
    mocks.queue,
    mocks.bots,
    mocks.files,
    mocks.speechToText,
    mocks.switches,
    reply,
    forwarding(mocks),
    new AnswerLocally(reply),
    new StartConversation(mocks.cursorRunner, reply),
  );
  return { sut, mocks };
}

export function newForwardMessage() {
  const mocks = newConversationMocks();
  return { sut: forwarding(mocks), mocks };
}

export function newAnswerLocally() {
  const mocks = newConversationMocks();
  return { sut: new AnswerLocally(replies(mocks)), mocks };
}

/**
 * The real DeliverResult on the embedded mode's queue (in-process, the same retry rules as BullMQ's):
 * add a job to `queue`, `await sut.settled()`, then look at what was sent. `handler` is the job
 * handler it registered, to run a job by hand (`newJob`) as a process after a crash would, and
 * `giveUp` the run the queue makes instead once a job was cut short too often.
 */
export function newDeliverResult(attempts = 3) {
  const mocks = newConversationMocks();
  const { deliveries, queue, handler, giveUp } = deliverResult(mocks, attempts);
  return { sut: deliveries, mocks, queue, handler, giveUp };
}

function deliverResult(mocks: ConversationMocks, attempts: number) {
  const queue = new InProcessJobQueue<ResultDeliveryJob>(RESULT_DELIVERIES_QUEUE, { concurrency: 5, retryDelayMs: 1 });
  const process = jest.spyOn(queue as JobQueue<ResultDeliveryJob>, 'process');
  const deliveries = new DeliverResult(queue, new SendResult(mocks.bots, replies(mocks), mocks.switches), mocks.pending, testConfig(attempts));
  deliveries.onApplicationBootstrap();
  const [handler, options] = process.mock.calls[0];
  return { deliveries, queue, handler, giveUp: options!.giveUp! };
}

/** `deliveries` is the real DeliverResult on the queue the callback fills: `await deliveries.settled()` before asserting what was sent. */
export function newReceiveCallback(redisWaitMs = 0) {
  const mocks = newConversationMocks();
  const { deliveries, queue } = deliverResult(mocks, 3);
  return { sut: new ReceiveCallback(mocks.pending, queue, testConfig(3, redisWaitMs)), mocks, deliveries, queue };
}

/** Unit specs keep their output to failures: the use cases' log lines are not under test here. */
export function silenceNestLogger(): void {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));
}
