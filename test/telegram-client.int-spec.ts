import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HttpTelegramClient,
  MAX_DOWNLOAD_BYTES,
  TelegramApiError,
  TelegramConnectionError,
  TelegramFileTooLargeError,
  TelegramHttpError,
  TelegramTimeoutError,
  TelegramTransport,
  TelegramVoiceFileMissingError,
} from '../apps/api/src/adapters/telegram';
import { tokenDigestOf } from '../apps/api/src/telegram';
import { FakeTelegram } from './support/fakes/telegram-server';
import { recordLogLines } from './support/log-lines';
import { CLOSED_PORT } from './support/redis-server';

const TOKEN = '111111:client-test-token_A';
const OTHER_TOKEN = '222222:client-test-token_B';
const CHAT = 123456789;

describe('HttpTelegramClient against a fake Bot API', () => {
  let fake: FakeTelegram;
  let transports: TelegramTransport[];
  let logged: string[];

  function client(token = TOKEN, options: { baseUrl?: string; timeoutMs?: number } = {}): HttpTelegramClient {
    const transport = new TelegramTransport({ baseUrl: options.baseUrl ?? fake.url, timeoutMs: options.timeoutMs ?? 10_000 });
    transports.push(transport);
    return new HttpTelegramClient(token, tokenDigestOf(token), transport);
  }

  beforeEach(async () => {
    fake = await FakeTelegram.start(TOKEN, OTHER_TOKEN);
    transports = [];
    logged = recordLogLines(['debug', 'warn']);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const transport of transports) transport.onApplicationShutdown();
    await fake.stop();
    expect(logged.join('\n')).not.toContain(TOKEN.split(':')[1]);
  });

  it('sends a message as given in its parse mode, replying to a message', async () => {
    const html = '📝 Output:\n<pre><code>a &lt; b &amp;&amp; c</code></pre>';
    const answer = await client().sendMessage(CHAT, html, { parseMode: 'HTML', replyToMessageId: 7 });
    expect(answer).toEqual({
      ok: true,
      result: { message_id: expect.any(Number), date: expect.any(Number), chat: { id: CHAT, type: 'private' }, text: expect.any(String) },
    });
    expect(fake.messages(CHAT)).toEqual([
      { token: TOKEN, chat_id: CHAT, text: html, parse_mode: 'HTML', reply_to_message_id: 7, params: expect.any(Object) },
    ]);
    const [call] = fake.calls('sendMessage');
    expect(call.request.method).toBe('POST');
    expect(call.request.headers['content-type']).toBe('application/json');
    // Sent even if the user deleted message 7 meanwhile, as a plain message.
    expect(call.params).toEqual({ chat_id: CHAT, text: html, parse_mode: 'HTML', reply_parameters: { message_id: 7, allow_sending_without_reply: true } });
  });

  it('sends to the supergroup a group was upgraded to, when Telegram names it, as a plain message', async () => {
    const group = -4242;
    const supergroup = -1004242424242;
    fake.upgradeToSupergroup(group, supergroup);
    const sent = await client().sendMessage(group, 'done', { parseMode: 'HTML', replyToMessageId: 7 });
    expect(sent.result.chat.id).toBe(supergroup);
    await client().sendDocument(group, 'out.txt', Buffer.from('all of it'));
    await client().sendVoice(group, Buffer.from('ID3'), { filename: 'a.mp3' });
    expect(fake.calls().map(({ method, params }) => [method, String(params.chat_id)])).toEqual([
      ['sendMessage', String(group)],
      ['sendMessage', String(supergroup)],
      ['sendDocument', String(group)],
      ['sendDocument', String(supergroup)],
      ['sendVoice', String(group)],
      ['sendVoice', String(supergroup)],
    ]);
    expect(fake.messages(supergroup)[0].params.reply_parameters).toEqual({ message_id: 7, allow_sending_without_reply: true });
  });

  it('sends Markdown as given and plain text without a parse_mode field', async () => {
    const bot = client();
    await bot.sendMessage(CHAT, '*bold* <tag>', { parseMode: 'Markdown' });
    await bot.sendMessage(CHAT, 'a < b');
    expect(fake.calls('sendMessage').map((call) => call.params)).toEqual([
      { chat_id: CHAT, text: '*bold* <tag>', parse_mode: 'Markdown' },
      { chat_id: CHAT, text: 'a < b' },
    ]);
  });

  it('uploads a voice from bytes as multipart, the MIME type from the file name', async () => {
    const audio = Buffer.from([0x4f, 0x67, 0x67, 0x53, 0x00, 0xff, 0x0d, 0x0a]);
    await client().sendVoice(CHAT, audio, { replyToMessageId: 9, caption: 'Here you go', filename: 'reply.ogg' });
    expect(fake.voices(CHAT)).toEqual([
      {
        token: TOKEN,
        fields: { chat_id: String(CHAT), reply_parameters: JSON.stringify({ message_id: 9, allow_sending_without_reply: true }), caption: 'Here you go' },
        reply_to_message_id: 9,
        fileName: 'reply.ogg',
        contentType: 'audio/ogg',
        bytes: audio,
      },
    ]);
    expect(fake.calls('sendVoice')[0].request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('uploads a voice from a file path under its basename, MP3 by default', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'telegram-voice-'));
    const file = path.join(dir, 'elevenlabs_tts_0123.mp3');
    const audio = Buffer.alloc(64 * 1024, 7);
    fs.writeFileSync(file, audio);
    await client().sendVoice(CHAT, file);
    const [voice] = fake.voices();
    expect(voice.fields).toEqual({ chat_id: String(CHAT) });
    expect(voice.fileName).toBe('elevenlabs_tts_0123.mp3');
    expect(voice.contentType).toBe('audio/mpeg');
    expect(voice.bytes.equals(audio)).toBe(true);
  });

  it('uploads a document as multipart in field document, plain UTF-8 text by default', async () => {
    const content = Buffer.from(`résumé <b>&</b>\n${'x'.repeat(2 * 1024 * 1024)}`, 'utf8');
    await client().sendDocument(CHAT, 'telegram-1764590000-0a1b2c3d.txt', content, { replyToMessageId: 4, caption: 'Whole output' });
    const [document] = fake.documents(CHAT);
    expect({ ...document, bytes: undefined }).toEqual({
      token: TOKEN,
      fields: { chat_id: String(CHAT), reply_parameters: JSON.stringify({ message_id: 4, allow_sending_without_reply: true }), caption: 'Whole output' },
      reply_to_message_id: 4,
      fileName: 'telegram-1764590000-0a1b2c3d.txt',
      contentType: 'text/plain; charset=utf-8',
      bytes: undefined,
    });
    // Buffer.equals: jest's toEqual walks two megabytes element by element.
    expect(document.bytes.equals(content)).toBe(true);
    await client().sendDocument(CHAT, 'data.json', Buffer.from('{}'), { contentType: 'application/json' });
    expect(fake.documents(CHAT)[1]).toMatchObject({ fields: { chat_id: String(CHAT) }, contentType: 'application/json' });
  });

  it('refuses a voice path that does not exist without calling Telegram', async () => {
    const error = await client().sendVoice(CHAT, '/nonexistent/voice.ogg').catch((caught) => caught);
    expect(error).toBeInstanceOf(TelegramVoiceFileMissingError);
    expect(error.message).toBe('Voice file does not exist');
    expect(fake.http.requests).toHaveLength(0);
  });

  it('downloads a file into memory through getFile', async () => {
    const bytes = Buffer.from('OggS voice bytes');
    fake.addFile(TOKEN, { fileId: 'voice-1', filePath: 'voice/file_1.oga', bytes });
    const download = await client().downloadFile('voice-1');
    expect(download).toEqual({ bytes, filePath: 'voice/file_1.oga', fileName: 'file_1.oga' });
    expect(fake.calls('getFile').map((call) => call.params)).toEqual([{ file_id: 'voice-1' }]);
    expect(fake.downloads()).toEqual([{ token: TOKEN, filePath: 'voice/file_1.oga' }]);
  });

  it('reports an unknown file id as Telegram’s error and a missing download as an HTTP error', async () => {
    const unknown = await client().downloadFile('nope').catch((caught) => caught);
    expect(unknown).toBeInstanceOf(TelegramApiError);
    expect(unknown.message).toBe('Telegram API error: Bad Request: invalid file_id');
    const missing = await client().fetchFile('voice/gone.oga').catch((caught) => caught);
    expect(missing).toBeInstanceOf(TelegramHttpError);
    expect(missing).toMatchObject({ message: 'Failed to download file: HTTP 404 Not Found', status: 404, method: 'download' });
  });

  it('refuses a download larger than 20 MB instead of buffering it', async () => {
    fake.addFile(TOKEN, { fileId: 'big', filePath: 'documents/big.mp3', bytes: Buffer.alloc(MAX_DOWNLOAD_BYTES + 1) });
    const error = await client().downloadFile('big').catch((caught) => caught);
    expect(error).toBeInstanceOf(TelegramFileTooLargeError);
  });

  it('sets, reads and deletes a webhook, leaving a blank secret out', async () => {
    const bot = client();
    expect(await bot.setWebhook('https://va.example.com/telegram/webhook', 's3cret')).toEqual({
      ok: true,
      result: true,
      description: 'Webhook was set',
    });
    expect(fake.webhookOf(TOKEN)).toEqual({ url: 'https://va.example.com/telegram/webhook', secret_token: 's3cret' });
    await bot.setWebhook('https://va.example.com/other', '  ');
    expect(fake.webhookOf(TOKEN)).toEqual({ url: 'https://va.example.com/other' });
    expect(await bot.getWebhookInfo()).toEqual({
      ok: true,
      result: { url: 'https://va.example.com/other', has_custom_certificate: false, pending_update_count: 0 },
    });
    expect(await bot.deleteWebhook()).toEqual({ ok: true, result: true, description: 'Webhook was deleted' });
    expect(fake.webhookOf(TOKEN)).toBeUndefined();
  });

  it('answers a callback query', async () => {
    await client().answerCallbackQuery('4382bfdwdsb323b2d9', 'Processing...');
    await client().answerCallbackQuery('4382bfdwdsb323b2d9', 'Stop', true);
    expect(fake.calls('answerCallbackQuery').map((call) => call.params)).toEqual([
      { callback_query_id: '4382bfdwdsb323b2d9', text: 'Processing...' },
      { callback_query_id: '4382bfdwdsb323b2d9', text: 'Stop', show_alert: true },
    ]);
  });

  it('reports Telegram’s ok:false with its description and status, and logs it without the token', async () => {
    fake.rejectNext(TOKEN, 'sendMessage', 'Forbidden: bot was blocked by the user', 403);
    const error = await client().sendMessage(CHAT, 'hi').catch((caught) => caught);
    expect(error).toBeInstanceOf(TelegramApiError);
    expect(error).toMatchObject({ status: 403, description: 'Forbidden: bot was blocked by the user', method: 'sendMessage' });
    expect(logged).toEqual([
      expect.stringMatching(
        new RegExp(
          `^warn telegram sendMessage failed after \\d+ ms \\(bot ${tokenDigestOf(TOKEN)}\\): TelegramApiError: Telegram API error: Forbidden: bot was blocked by the user$`,
        ),
      ),
    ]);
  });

  it('reports a revoked token as Unauthorized', async () => {
    const error = await client('999:revoked').getWebhookInfo().catch((caught) => caught);
    expect(error).toMatchObject({ name: 'TelegramApiError', status: 401, message: 'Telegram API error: Unauthorized' });
    expect(error.message).not.toContain('revoked');
  });

  it('reports a 5xx page that is not a Bot API answer as an HTTP error', async () => {
    fake.failNext(TOKEN, 'getWebhookInfo', { status: 502, body: '<html>Bad Gateway</html>' });
    const error = await client().getWebhookInfo().catch((caught) => caught);
    expect(error).toBeInstanceOf(TelegramHttpError);
    expect(error).toMatchObject({ status: 502, message: 'Telegram getWebhookInfo failed: HTTP 502 Bad Gateway' });
  });

  it('gives up after the timeout', async () => {
    fake.failNext(TOKEN, 'sendMessage', { delayMs: 60_000, body: { ok: true, result: {} } });
    const error = await client(TOKEN, { timeoutMs: 200 }).sendMessage(CHAT, 'hi').catch((caught) => caught);
    expect(error).toBeInstanceOf(TelegramTimeoutError);
    expect(error).toMatchObject({ message: 'Request to Telegram timed out: no answer within 200 ms (sendMessage)', timeoutMs: 200 });
  });

  it('reports a refused connection and a dropped one as connection errors', async () => {
    const port = CLOSED_PORT;
    const refused = await client(TOKEN, { baseUrl: `http://127.0.0.1:${port}` }).deleteWebhook().catch((caught) => caught);
    expect(refused).toBeInstanceOf(TelegramConnectionError);
    expect(refused).toMatchObject({ message: `Failed to connect to Telegram: connect ECONNREFUSED 127.0.0.1:${port}`, code: 'ECONNREFUSED' });

    fake.failNext(TOKEN, 'deleteWebhook', { drop: true });
    const dropped = await client().deleteWebhook().catch((caught) => caught);
    expect(dropped).toBeInstanceOf(TelegramConnectionError);
    expect(dropped.message).toBe('Failed to connect to Telegram: socket hang up');
  });

  it('keeps one connection alive for sequential calls of every bot sharing the transport', async () => {
    const transport = new TelegramTransport({ baseUrl: fake.url, timeoutMs: 10_000 });
    transports.push(transport);
    const first = new HttpTelegramClient(TOKEN, tokenDigestOf(TOKEN), transport);
    const second = new HttpTelegramClient(OTHER_TOKEN, tokenDigestOf(OTHER_TOKEN), transport);
    for (let call = 0; call < 3; call += 1) {
      await first.sendMessage(CHAT, `a${call}`);
      await second.sendMessage(CHAT, `b${call}`);
    }
    expect(fake.messages().map((message) => message.token)).toEqual([TOKEN, OTHER_TOKEN, TOKEN, OTHER_TOKEN, TOKEN, OTHER_TOKEN]);
    expect(fake.http.connectionCount).toBe(1);
  });

  it('never puts the token in an error message', async () => {
    fake.failNext(TOKEN, 'getFile', { status: 404, body: { ok: false, error_code: 404, description: `Not Found: /bot${TOKEN}/getFile` } });
    const error = await client().getFile('x').catch((caught) => caught);
    expect(error.message).toBe('Telegram API error: Not Found: /bot<token>/getFile');
  });
});
