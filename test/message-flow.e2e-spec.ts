import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import type { BullJobQueue } from '@app/queue';
import { echoText, FORWARD_INTERRUPTED_TEXT, pendingRequestKey, PROCESSING_TEXT, TELEGRAM_UPDATES_QUEUE } from '../apps/api/src/conversation';
import { SettingsService } from '../apps/api/src/settings';
import { cursorRunnerProtocol, EXECUTE_ASYNC } from './support/fakes/cursor-runner-server';
import { fakeSpeech, fakeTranscript, startFakeElevenLabs } from './support/fakes/elevenlabs-server';
import { FakeHttpServer } from './support/fakes/fake-http-server';
import { FakeTelegram, usernameOf } from './support/fakes/telegram-server';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { loadTelegramUpdate, type TelegramUpdateFixture } from './support/telegram-fixtures';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const TOKEN = '888888:message-flow-token';
const TELEGRAM_SECRET = 'test-telegram-secret';
const WEBHOOK_SECRET = 'test-webhook-secret';
const API_KEY = 'message-flow-key';
const VOICE = 'flow-voice';
const CHAT = 123456789;
const VOICE_FILE = { fileId: 'AwACAgIAAxkBAAIBZ2d0voiceFileId', filePath: 'voice/file_12.oga', bytes: Buffer.from('OggS voice') };

let nextUpdateId = Math.floor(Date.now() / 1000) * 10 + 7;

/**
 * The whole loop the product exists for, over real Redis (BullMQ queue, pending state) and SQLite:
 * Telegram posts an update → the app forwards it to cursor-runner with a callback URL → cursor-runner
 * posts its result there → the user gets the formatted answer, and the pending state is gone. The
 * three peers are local servers speaking their protocols; the test plays cursor-runner's callback
 * exactly as cursor-runner sends it (the `secret` moved from the URL into both headers; docs/cursor-runner.md, "Callback contract").
 */
describe('message flow: Telegram → cursor-runner → callback → Telegram', () => {
  let telegram: FakeTelegram;
  let elevenLabs: FakeHttpServer;
  let cursorRunner: FakeHttpServer;
  let redis: Redis;
  let app: TestApp;
  let settings: SettingsService;

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    telegram = await FakeTelegram.start(TOKEN);
    telegram.addFile(TOKEN, VOICE_FILE);
    elevenLabs = await startFakeElevenLabs({ apiKey: API_KEY });
    cursorRunner = await FakeHttpServer.start(cursorRunnerProtocol({ webhookSecret: WEBHOOK_SECRET }));
    app = await startTestApp({
      env: {
        REDIS_URL: testRedisUrl(),
        CACHE_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL: telegram.url,
        ELEVENLABS_API_KEY: API_KEY,
        ELEVENLABS_API_BASE_URL: elevenLabs.url,
        ELEVENLABS_VOICE_ID: VOICE,
        ELEVENLABS_TTS_MODEL_ID: 'tts_flow',
        CURSOR_RUNNER_URL: cursorRunner.url,
        CURSOR_RUNNER_CALLBACK_BASE_URL: 'http://jarek-va.internal:3000',
      },
    });
    settings = app.app.get(SettingsService);
  });
  beforeEach(async () => {
    telegram.reset();
    elevenLabs.reset();
    cursorRunner.reset();
    await settings.set('debug', false);
    await settings.set('allow_audio_output', false);
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), `${app.config.queue.prefix}:`);
    await Promise.all([telegram.stop(), elevenLabs.stop(), cursorRunner.stop()]);
    await redis.quit();
  });

  /** Posts a Telegram update and waits for cursor-runner to be asked; returns what it was sent. */
  async function sendUpdate(name: TelegramUpdateFixture, text?: string) {
    const update = loadTelegramUpdate(name);
    update.update_id = ++nextUpdateId;
    if (text !== undefined) (update.message as Record<string, unknown>).text = text;
    await request(app.baseUrl)
      .post('/telegram/webhook')
      .set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET)
      .send(update)
      .expect(200);
    const { value: calls } = await pollUntil(async () => cursorRunner.requestsTo(EXECUTE_ASYNC), (found) => found.length === 1, 10_000, 10);
    expect(calls).toHaveLength(1);
    return calls[0].body as { id: string; prompt: string; callbackUrl: string };
  }

  /**
   * cursor-runner's callback as it sends it: the URL's secret, else its own `WEBHOOK_SECRET` (the
   * one this service sends it), in both headers.
   */
  function callBack(callbackUrl: string, body: Record<string, unknown>) {
    const url = new URL(callbackUrl);
    const secret = url.searchParams.get('secret') || WEBHOOK_SECRET;
    url.searchParams.delete('secret');
    return request(app.baseUrl)
      .post(`${url.pathname}${url.search}`)
      .set('User-Agent', 'cursor-runner/1.0')
      .set('X-Webhook-Secret', secret)
      .set('X-Cursor-Runner-Secret', secret)
      .send(body);
  }

  async function nextMessages(count: number) {
    const { value } = await pollUntil(async () => telegram.messages(CHAT), (messages) => messages.length >= count, 10_000, 10);
    return value.map(({ text, parse_mode, reply_to_message_id }) => ({ text, parse_mode, reply_to_message_id }));
  }

  it('delivers a successful run\'s output to the chat and forgets the pending request', async () => {
    const sent = await sendUpdate('text-message', 'Summarise the README');
    expect(sent.callbackUrl).toBe('http://jarek-va.internal:3000/cursor-runner/callback');
    expect(await redis.exists(pendingRequestKey(sent.id))).toBe(1);

    const answer = await callBack(sent.callbackUrl, {
      success: true,
      requestId: sent.id,
      repository: '',
      output: '\u001b[32mREADME: a Telegram assistant <for> cursor-runner\u001b[0m',
      error: null,
      exitCode: 0,
      duration: '1834ms',
      timestamp: new Date().toISOString(),
    }).expect(200);

    expect(answer.body).toEqual({ received: true, request_id: sent.id });
    expect(await nextMessages(1)).toEqual([
      { text: 'README: a Telegram assistant &lt;for&gt; cursor-runner', parse_mode: 'HTML', reply_to_message_id: 101 },
    ]);
    await pollUntil(() => redis.exists(pendingRequestKey(sent.id)), (exists) => exists === 0, 5_000, 10);
    expect(await redis.exists(pendingRequestKey(sent.id))).toBe(0);
    const replay = await callBack(sent.callbackUrl, { success: true, requestId: sent.id, output: 'again' }).expect(200);
    expect(replay.body).toEqual({ received: true, message: 'Request not found' });
  });

  it('forwards a photo\'s caption as the prompt, and answers a photo without one here', async () => {
    const sent = await sendUpdate('photo-with-caption');
    expect(sent.prompt).toBe('Why does the build fail with this error? /status is green');

    cursorRunner.reset();
    const bare = loadTelegramUpdate('photo');
    bare.update_id = ++nextUpdateId;
    await request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET).send(bare).expect(200);
    expect(await nextMessages(1)).toEqual([{ text: echoText(''), parse_mode: 'HTML', reply_to_message_id: 109 }]);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(0);
  });

  it('answers a local command once, also when its completed job is retried from the queue dashboard', async () => {
    const update = loadTelegramUpdate('text-message');
    update.update_id = ++nextUpdateId;
    (update.message as Record<string, unknown>).text = '/status';
    await request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET).send(update).expect(200);
    expect(await nextMessages(1)).toHaveLength(1);

    const updates = app.app.get<BullJobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token).bullQueue;
    const ofThisUpdate = async () =>
      (await updates.getJobs(['completed'])).find(
        (job) => (job.data as { payload?: { update?: { update_id?: number } } }).payload?.update?.update_id === update.update_id,
      );
    const { value: completed } = await pollUntil(ofThisUpdate, (job) => job !== undefined, 5_000, 10);
    expect(completed).toBeDefined();
    const retried = await fetch(`${app.baseUrl}/admin/queues/api/queues/telegram-updates/${completed!.id}/retry`, {
      method: 'PUT',
      headers: { 'x-admin-secret': WEBHOOK_SECRET },
    });
    expect(retried.status).toBe(204);
    // Run again and completed again: finished later than the first time.
    const { value: again } = await pollUntil(ofThisUpdate, (job) => job !== undefined && job.finishedOn! > completed!.finishedOn!, 5_000, 10);
    expect(again?.finishedOn).toBeGreaterThan(completed!.finishedOn!);
    expect(telegram.messages(CHAT)).toHaveLength(1);
  });

  it('leaves a command addressed to another bot in the group to that bot, and answers one addressed to it by its name', async () => {
    const updates = app.app.get<BullJobQueue<unknown>>(TELEGRAM_UPDATES_QUEUE.token).bullQueue;
    const send = async (text: string): Promise<number> => {
      const update = loadTelegramUpdate('text-message');
      const updateId = ++nextUpdateId;
      update.update_id = updateId;
      (update.message as Record<string, unknown>).text = text;
      await request(app.baseUrl).post('/telegram/webhook').set('X-Telegram-Bot-Api-Secret-Token', TELEGRAM_SECRET).send(update).expect(200);
      return updateId;
    };
    const completed = (updateId: number) => async () =>
      (await updates.getJobs(['completed'])).some((job) => (job.data as { payload?: { update?: { update_id?: number } } }).payload?.update?.update_id === updateId);

    for (const foreign of ['/help@other_bot', '/new@other_bot', '/deploy@ci_bot staging --force']) {
      const id = await send(foreign);
      await pollUntil(completed(id), Boolean, 5_000, 10);
    }
    expect(telegram.messages(CHAT)).toEqual([]);
    expect(cursorRunner.requests).toEqual([]);

    await send(`/help@${usernameOf(TOKEN)}`);
    expect((await nextMessages(1))[0].text).toContain('/help');
    expect(telegram.calls('getMe')).toHaveLength(1);
  });

  it('reports a failed run and a crashed run to the user', async () => {
    const failed = await sendUpdate('text-message', 'Break the build');
    await callBack(failed.callbackUrl, {
      success: false,
      requestId: failed.id,
      repository: '',
      error: 'cursor-agent exited with code 1',
      exitCode: 1,
      duration: '20ms',
      timestamp: new Date().toISOString(),
    }).expect(200);
    expect(await nextMessages(1)).toEqual([
      { text: '❌ Failed with exit code 1\ncursor-agent exited with code 1', parse_mode: 'HTML', reply_to_message_id: 101 },
    ]);

    telegram.reset();
    cursorRunner.reset();
    const crashed = await sendUpdate('text-message', 'Crash please');
    await callBack(crashed.callbackUrl, { success: false, requestId: crashed.id, error: 'spawn ENOENT', timestamp: new Date().toISOString() }).expect(200);
    expect(await nextMessages(1)).toEqual([{ text: '❌ spawn ENOENT', parse_mode: 'HTML', reply_to_message_id: 101 }]);
  });

  it('in debug mode, says it is working and sends the run\'s figures with the output in a code block', async () => {
    await settings.set('debug', true);
    const sent = await sendUpdate('text-message', 'Explain the queue');
    expect(await nextMessages(1)).toEqual([{ text: PROCESSING_TEXT, parse_mode: 'HTML', reply_to_message_id: 101 }]);

    await callBack(sent.callbackUrl, {
      success: true,
      requestId: sent.id,
      iterations: 3,
      output: 'a < b',
      duration: '9s',
      timestamp: new Date().toISOString(),
    }).expect(200);

    const [, result] = await nextMessages(2);
    expect(result).toEqual({
      text: '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: 9s\n\n📝 Output:\n<pre><code>a &lt; b</code></pre>',
      parse_mode: 'HTML',
      reply_to_message_id: 101,
    });
  });

  it('hears a voice message and, with allow_audio_output on, answers with voice', async () => {
    await settings.set('allow_audio_output', true);
    const sent = await sendUpdate('voice-message');
    const transcript = fakeTranscript({ filename: 'file_12.oga', contentType: 'audio/ogg', content: VOICE_FILE.bytes });
    expect(sent.prompt).toBe(transcript);

    await callBack(sent.callbackUrl, { success: true, requestId: sent.id, output: 'Spoken answer', timestamp: new Date().toISOString() }).expect(200);

    const { value: voices } = await pollUntil(async () => telegram.voices(CHAT), (found) => found.length === 1, 10_000, 10);
    expect(voices[0].bytes).toEqual(fakeSpeech(VOICE, 'tts_flow', 'Spoken answer'));
    expect(telegram.messages(CHAT)).toEqual([]);
    await pollUntil(() => redis.exists(pendingRequestKey(sent.id)), (exists) => exists === 0, 5_000, 10);
    expect(await redis.exists(pendingRequestKey(sent.id))).toBe(0);
  });

  it('a forward whose acknowledgement is cut off: the chat is told once, nothing is sent again, the late result is delivered once', async () => {
    // The connection breaks after cursor-runner read the request: it may be running it.
    cursorRunner.enqueue(EXECUTE_ASYNC, { drop: true });
    const sent = await sendUpdate('text-message', 'Run this exactly once');
    expect((await nextMessages(1)).map((message) => message.text)).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await redis.exists(pendingRequestKey(sent.id))).toBe(1);

    const answer = await callBack(sent.callbackUrl, { success: true, requestId: sent.id, output: 'ran after all' }).expect(200);
    expect(answer.body).toEqual({ received: true, request_id: sent.id });
    expect((await nextMessages(2)).map((message) => message.text)).toEqual([FORWARD_INTERRUPTED_TEXT, 'ran after all']);
    await pollUntil(() => redis.exists(pendingRequestKey(sent.id)), (exists) => exists === 0, 5_000, 10);
    const replay = await callBack(sent.callbackUrl, { success: true, requestId: sent.id, output: 'ran after all' }).expect(200);
    expect(replay.body).toEqual({ received: true, message: 'Request not found' });
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(1);
    expect(telegram.messages(CHAT)).toHaveLength(2);
  });

  it('a gateway 504 in front of cursor-runner: the chat is told once, nothing is sent again, the late result is delivered once', async () => {
    // A proxy gave up waiting for cursor-runner's answer: cursor-runner may be running the request.
    cursorRunner.enqueue(EXECUTE_ASYNC, {
      status: 504,
      body: '<html><body><h1>504 Gateway Time-out</h1></body></html>',
      headers: { 'Content-Type': 'text/html' },
    });
    const sent = await sendUpdate('text-message', 'Run this once behind a proxy');
    expect((await nextMessages(1)).map((message) => message.text)).toEqual([FORWARD_INTERRUPTED_TEXT]);
    expect(await redis.exists(pendingRequestKey(sent.id))).toBe(1);

    await callBack(sent.callbackUrl, { success: true, requestId: sent.id, output: 'ran behind the proxy' }).expect(200);
    expect((await nextMessages(2)).map((message) => message.text)).toEqual([FORWARD_INTERRUPTED_TEXT, 'ran behind the proxy']);
    expect(cursorRunner.requestsTo(EXECUTE_ASYNC)).toHaveLength(1);
  });
});
