import { PermanentJobError } from '@app/queue';
import { newJob, newProcessUpdate, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { CursorRunnerConnectionError } from '../../adapters/cursor-runner';
import { ElevenLabsConnectionError, ElevenLabsTimeoutError, ElevenLabsTranscriptionError } from '../../adapters/elevenlabs';
import { TelegramApiError, TelegramConnectionError, TelegramHttpError } from '../../adapters/telegram';
import type { TelegramUpdate } from '../telegram-update';
import type { TelegramUpdateJob } from '../telegram-updates.queue';
import {
  HELP_TEXT,
  NO_TRANSCRIPT_TEXT,
  PROCESSING_TEXT,
  SPEECH_TO_TEXT_OFF_TEXT,
  TRANSCRIBING_TEXT,
} from '../texts';
import { ProcessUpdate } from './process-update.use-case';

const CHAT = 42;
const chat = { id: CHAT, type: 'private' } as const;
const text = (body: string, messageId = 101): TelegramUpdate => ({
  update_id: 1,
  message: { message_id: messageId, chat, text: body },
});
const voice: TelegramUpdate = {
  update_id: 2,
  message: { message_id: 102, chat, voice: { file_id: 'voice-1', mime_type: 'audio/ogg' } },
};
const job = (update: TelegramUpdate, attempt = 1, steps?: Map<string, unknown>) =>
  newJob<TelegramUpdateJob>({ botId: 7, update }, attempt, steps);

describe(ProcessUpdate.name, () => {
  silenceNestLogger();

  it('takes jobs from the updates queue once the app has started, with a give-up handler', () => {
    const { sut, mocks } = newProcessUpdate();
    sut.onApplicationBootstrap();
    expect(mocks.queue.process).toHaveBeenCalledTimes(1);
    expect(mocks.queue.process.mock.calls[0][1]).toEqual({ giveUp: expect.any(Function) });
  });

  it('gives up an update cut short too many times by telling the user, without running it', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.giveUp(job(text('fix the tests')), 3);
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(
      CHAT,
      'Sorry, I encountered an error processing your message: it was interrupted 3 times. If it was a request for the agent, it may have reached it; you can send it again',
      { parseMode: 'HTML', replyToMessageId: 101 },
    );
  });

  it('forwards under the request id queued with the update', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(newJob<TelegramUpdateJob>({ botId: 7, update: text('fix the tests'), requestId: 'telegram-1-abcdef01' }));
    expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].id).toBe('telegram-1-abcdef01');
  });

  it.each([
    ['someone joined', { new_chat_members: [{ id: 5, is_bot: false, first_name: 'Ann' }] }],
    ['the bot itself was removed', { left_chat_member: { id: 7, is_bot: true, first_name: 'jarek' } }],
    ['a message was pinned', { pinned_message: { message_id: 3, chat, date: 1 } }],
    ['the group became a supergroup', { migrate_to_chat_id: -1001234567890 }],
    ['a forum topic was created', { forum_topic_created: { name: 'ops', icon_color: 1 } }],
  ])('ignores a service message (%s): no answer, nothing forwarded', async (_case, service) => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job({ update_id: 3, message: { message_id: 103, chat: { id: -100, type: 'group' }, date: 1, ...service } }));
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
  });

  it('still reads a message with text beside a service field', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job({ update_id: 4, message: { message_id: 104, chat, text: 'fix the tests', pinned_message: { message_id: 3 } } }));
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
  });

  it.each(['/help@other_bot', '/new@Other_Bot', '/deploy@ci_bot staging --force', '/deploy@ci_bot, now'])(
    'ignores %s, a command addressed to another bot: no answer, no reset, nothing forwarded',
    async (command) => {
      const { sut, mocks } = newProcessUpdate();
      await sut.process(job(text(command)));
      expect(mocks.client.sendMessage).not.toHaveBeenCalled();
      expect(mocks.cursorRunner.newConversation).not.toHaveBeenCalled();
      expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    },
  );

  it.each([
    ['is unreachable', () => new TelegramConnectionError('getMe', 'connect ECONNREFUSED', 'ECONNREFUSED')],
    ['answers 502', () => new TelegramHttpError('getMe', 502, 'Telegram getMe failed: HTTP 502 Bad Gateway')],
    ['refuses the token', () => new TelegramApiError('getMe', 401, 'Unauthorized')],
  ])('leaves an addressed command alone, saying nothing, when Telegram %s as the bot asks its own name', async (_case, failure) => {
    const { sut, mocks } = newProcessUpdate();
    mocks.bots.usernameOf.mockRejectedValue(failure());
    await sut.process(job(text('/deploy@ci_bot staging')));
    await sut.process(job(text('/deploy@ci_bot, now')));
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
  });

  it('takes a command addressed to this bot, in any case, and a plain command, asking its name only for the first', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job(text('/help@Jarek_Test_Bot')));
    await sut.process(job(text('/help')));
    await sut.process(job(text('mail me@other_bot about it')));
    expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([HELP_TEXT, HELP_TEXT]);
    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.bots.usernameOf).toHaveBeenCalledTimes(1);
  });

  it('drops an update whose bot is gone, saying nothing', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(newJob<TelegramUpdateJob>({ botId: 99, update: text('hello') }));
    expect(mocks.bots.findById).toHaveBeenCalledWith(99);
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('forwards a text to cursor-runner and keeps the pending request the callback will need', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job(text('fix the tests')));

    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledWith({
      id: expect.stringMatching(/^telegram-\d+-[0-9a-f]{8}$/),
      repository: '',
      branchName: 'main',
      prompt: 'fix the tests',
    });
    const { id } = mocks.cursorRunner.executeAsync.mock.calls[0][0];
    expect(await mocks.pending.get(id!)).toMatchObject({
      chatId: CHAT,
      messageId: 101,
      prompt: 'fix the tests',
      originalWasAudio: false,
      botId: 7,
    });
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('says it is processing, in debug mode', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.switches.on.add('debug');
    await sut.process(job(text('fix the tests')));
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(CHAT, PROCESSING_TEXT, { parseMode: 'HTML', replyToMessageId: 101 });
  });

  it('answers /start here, escaped once as HTML, without calling cursor-runner', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job(text('/start')));
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(CHAT, HELP_TEXT, { parseMode: 'HTML', replyToMessageId: 101 });
  });

  it('tells the user when cursor-runner refuses, and forgets the pending request', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.cursorRunner.executeAsync.mockResolvedValue({ success: false, error: 'prompt <too> long' });
    await sut.process(job(text('fix the tests')));

    expect(mocks.client.sendMessage).toHaveBeenCalledWith(
      CHAT,
      '❌ Error: Failed to execute cursor command. prompt &lt;too&gt; long',
      { parseMode: 'HTML', replyToMessageId: 101 },
    );
    const { id } = mocks.cursorRunner.executeAsync.mock.calls[0][0];
    expect(await mocks.pending.get(id!)).toBeNull();
  });

  it('tells the user when cursor-runner cannot be reached', async () => {
    const { sut, mocks } = newProcessUpdate();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    mocks.cursorRunner.executeAsync.mockRejectedValue(
      new CursorRunnerConnectionError({ method: 'POST', path: '/cursor/execute/async' }, refused),
    );
    await sut.process(job(text('fix the tests')));
    expect(mocks.client.sendMessage.mock.calls[0][1]).toBe(
      '❌ Error: Failed to execute cursor command. Failed to connect to cursor-runner: connect ECONNREFUSED',
    );
  });

  it('never forwards a message twice when a later step fails and the job is retried', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.switches.on.add('debug');
    mocks.switches.isEnabled.mockRejectedValueOnce(new Error('settings unreadable')).mockImplementation(async (name) =>
      mocks.switches.on.has(name),
    );
    const steps = new Map<string, unknown>();

    await expect(sut.process(job(text('fix the tests'), 1, steps))).rejects.toThrow('settings unreadable');
    await sut.process(job(text('fix the tests'), 2, steps));

    expect(mocks.cursorRunner.executeAsync).toHaveBeenCalledTimes(1);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
  });

  type Arrange = (mocks: ReturnType<typeof newProcessUpdate>['mocks']) => void;
  const speechOff: Arrange = (mocks) => Object.assign(mocks.speechToText, { isConfigured: false });
  it.each<[string, TelegramUpdate, Arrange]>([
    ['a local command', text('/status'), () => undefined],
    ['a blank message', text('   '), () => undefined],
    ['/new', text('/new'), () => undefined],
    ['a message cursor-runner refused', text('fix the tests'), (mocks) => mocks.cursorRunner.executeAsync.mockResolvedValue({ success: false, error: 'busy' })],
    ['a voice message while speech-to-text is off', voice, speechOff],
    [
      'a voice message without words',
      voice,
      (mocks) => mocks.speechToText.transcribe.mockRejectedValue(new ElevenLabsTranscriptionError('No text returned', 200, 'no_text')),
    ],
    ['a voice message whose transcription failed', voice, (mocks) => mocks.speechToText.transcribe.mockRejectedValue(new ElevenLabsTranscriptionError('quota exceeded', 401))],
    ['a button whose data is a local command', { update_id: 3, callback_query: { id: 'q', data: '/help', message: { message_id: 5, chat } } }, () => undefined],
  ])('answers %s once when its completed job is run again (retried from the dashboard)', async (_what, update, arrange) => {
    const { sut, mocks } = newProcessUpdate();
    arrange(mocks);
    const steps = new Map<string, unknown>();
    await sut.process(job(update, 1, steps));
    await sut.process(job(update, 1, steps));
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
  });

  it('answers a voice message run again after its transcription failed: the notice once, then the local answer to the transcript', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.speechToText.transcribe.mockRejectedValueOnce(new ElevenLabsTranscriptionError('quota exceeded', 401)).mockResolvedValue('/help');
    const steps = new Map<string, unknown>();
    await sut.process(job(voice, 1, steps));
    await sut.process(job(voice, 1, steps));
    expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([
      '❌ Error transcribing audio: quota exceeded. Please try again or send a text message.',
      HELP_TEXT,
    ]);
  });

  it('tells the user about a failure only on the last attempt', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.switches.isEnabled.mockRejectedValue(new Error('database locked'));
    mocks.speechToText.transcribe.mockResolvedValue('hi');

    await expect(sut.process(job(voice, 1))).rejects.toThrow('database locked');
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    await expect(sut.process(job(voice, 3))).rejects.toThrow('database locked');
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(
      CHAT,
      'Sorry, I encountered an error processing your message: database locked',
      { parseMode: 'HTML', replyToMessageId: 102 },
    );
  });

  it('waits out a 429 asking for more than a minute (a flood wait) without using up an attempt, then answers', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.client.sendMessage.mockRejectedValueOnce(new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 300', 300));
    const steps = new Map<string, unknown>();

    await expect(sut.process(job(text('/help'), 3, steps))).rejects.toMatchObject({ name: 'RetryLaterError', delayMs: 300_000 });
    // Its last attempt, and no failure notice: the wait did not count as one.
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(1);
    await sut.process(job(text('/help'), 3, steps));
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(mocks.client.sendMessage.mock.calls[1][1]).toBe(HELP_TEXT);
  });

  it('gives up at once when Telegram refuses the request itself', async () => {
    const { sut, mocks } = newProcessUpdate();
    mocks.client.sendMessage.mockRejectedValueOnce(new TelegramApiError('sendMessage', 403, 'Forbidden: bot was blocked by the user'));

    const failure = sut.process(job(text('/help')));

    await expect(failure).rejects.toBeInstanceOf(PermanentJobError);
    expect(mocks.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(mocks.client.sendMessage.mock.calls[1][1]).toBe(
      'Sorry, I encountered an error processing your message: Telegram API error: Forbidden: bot was blocked by the user',
    );
  });

  describe('voice messages', () => {
    it('transcribes the downloaded audio and forwards the transcript as spoken', async () => {
      const { sut, mocks } = newProcessUpdate();
      await sut.process(job(voice));

      expect(mocks.files.download).toHaveBeenCalledWith(mocks.bot, 'voice-1');
      expect(mocks.speechToText.transcribe).toHaveBeenCalledWith({
        audio: Buffer.from('ogg'),
        filename: 'file_1.oga',
        mimeType: 'audio/ogg',
      });
      const { id, prompt } = mocks.cursorRunner.executeAsync.mock.calls[0][0];
      expect(prompt).toBe('fix the tests');
      expect((await mocks.pending.get(id!))?.originalWasAudio).toBe(true);
    });

    it('says it is transcribing, in debug mode', async () => {
      const { sut, mocks } = newProcessUpdate();
      mocks.switches.on.add('debug');
      await sut.process(job(voice));
      expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([TRANSCRIBING_TEXT, PROCESSING_TEXT]);
    });

    it('asks for text when speech-to-text is not configured', async () => {
      const { sut, mocks } = newProcessUpdate();
      Object.assign(mocks.speechToText, { isConfigured: false });
      await sut.process(job(voice));
      expect(mocks.files.download).not.toHaveBeenCalled();
      expect(mocks.client.sendMessage).toHaveBeenCalledWith(CHAT, SPEECH_TO_TEXT_OFF_TEXT, { parseMode: 'HTML', replyToMessageId: 102 });
    });

    it('says so when the audio holds no words', async () => {
      const { sut, mocks } = newProcessUpdate();
      mocks.speechToText.transcribe.mockRejectedValue(
        new ElevenLabsTranscriptionError('No text returned from transcription', 200, 'no_text'),
      );
      await sut.process(job(voice));
      expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
      expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([NO_TRANSCRIPT_TEXT]);
    });

    it.each([
      ['throttles it (429)', () => new TelegramApiError('getFile', 429, 'Too Many Requests: retry after 5', 5), 'RetryLaterError'],
      ['is overloaded (502)', () => new TelegramHttpError('download', 502, 'Failed to download file: HTTP 502 Bad Gateway'), 'TelegramHttpError'],
      ['cannot be reached', () => new TelegramConnectionError('getFile', 'connect ECONNREFUSED', 'ECONNREFUSED'), 'TelegramConnectionError'],
    ])('tries the update again when Telegram %s while the audio is fetched, telling the user nothing yet', async (_case, failure, thrown) => {
      const { sut, mocks } = newProcessUpdate();
      mocks.files.download.mockRejectedValueOnce(failure());
      await expect(sut.process(job(voice))).rejects.toMatchObject({ name: thrown });
      expect(mocks.client.sendMessage).not.toHaveBeenCalled();
      await sut.process(job(voice));
      expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].prompt).toBe('fix the tests');
    });

    it.each([
      ['fails (500)', () => new ElevenLabsTranscriptionError('Internal server error', 500)],
      ['cannot be reached', () => new ElevenLabsConnectionError('speech-to-text', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))],
      ['does not answer in time', () => new ElevenLabsTimeoutError('speech-to-text', 60_000)],
    ])('tries the update again when ElevenLabs %s, telling the user nothing until the last attempt', async (_case, failure) => {
      const { sut, mocks } = newProcessUpdate();
      mocks.speechToText.transcribe.mockRejectedValueOnce(failure()).mockResolvedValueOnce('fix the tests');
      await expect(sut.process(job(voice, 1))).rejects.toBeInstanceOf(Error);
      expect(mocks.client.sendMessage).not.toHaveBeenCalled();
      await sut.process(job(voice, 2));
      expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].prompt).toBe('fix the tests');

      const last = newProcessUpdate();
      const error = failure();
      last.mocks.speechToText.transcribe.mockRejectedValue(error);
      await last.sut.process(job(voice, 3));
      expect(last.mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([
        `❌ Error transcribing audio: ${error.message}. Please try again or send a text message.`,
      ]);
    });

    it('waits out ElevenLabs throttling (429) without using up attempts, 2 s and twice that at each throttle, then transcribes', async () => {
      const { sut, mocks } = newProcessUpdate();
      const throttled = () => new ElevenLabsTranscriptionError('Too many concurrent requests', 429);
      mocks.speechToText.transcribe.mockRejectedValueOnce(throttled()).mockRejectedValueOnce(throttled()).mockResolvedValueOnce('fix the tests');
      const steps = new Map<string, unknown>();
      // Its last attempt: the waits do not count as attempts, and the user hears nothing of them.
      await expect(sut.process(job(voice, 3, steps))).rejects.toMatchObject({ name: 'RetryLaterError', delayMs: 2_000, message: 'update 2, throttled by ElevenLabs' });
      await expect(sut.process(job(voice, 3, steps))).rejects.toMatchObject({ name: 'RetryLaterError', delayMs: 4_000 });
      await sut.process(job(voice, 3, steps));
      expect(mocks.client.sendMessage).not.toHaveBeenCalled();
      expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].prompt).toBe('fix the tests');
    });

    it('quotes the transcription error', async () => {
      const { sut, mocks } = newProcessUpdate();
      mocks.speechToText.transcribe.mockRejectedValue(new ElevenLabsTranscriptionError('quota exceeded', 401));
      await sut.process(job(voice));
      expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual([
        '❌ Error transcribing audio: quota exceeded. Please try again or send a text message.',
      ]);
    });
  });

  describe('button presses', () => {
    const press = (data: string): TelegramUpdate => ({
      update_id: 3,
      callback_query: { id: 'query-1', data, message: { message_id: 103, chat } },
    });

    it('acknowledges the button, then forwards its data', async () => {
      const { sut, mocks } = newProcessUpdate();
      await sut.process(job(press('run the linter')));
      expect(mocks.client.answerCallbackQuery).toHaveBeenCalledWith('query-1', 'Processing...');
      expect(mocks.cursorRunner.executeAsync.mock.calls[0][0].prompt).toBe('run the linter');
    });

    it('names what was selected when the data is a local command', async () => {
      const { sut, mocks } = newProcessUpdate();
      await sut.process(job(press('/status')));
      expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
      expect(mocks.client.sendMessage).toHaveBeenCalledWith(CHAT, 'You selected: /status', {
        parseMode: 'HTML',
        replyToMessageId: undefined,
      });
    });

    it('still answers when acknowledging the button fails', async () => {
      const { sut, mocks } = newProcessUpdate();
      mocks.client.answerCallbackQuery.mockRejectedValue(new TelegramApiError('answerCallbackQuery', 400, 'query is too old'));
      await sut.process(job(press('/help')));
      expect(mocks.client.sendMessage.mock.calls.map((call) => call[1])).toEqual(['You selected: /help']);
    });
  });

  it('ignores updates it does not handle', async () => {
    const { sut, mocks } = newProcessUpdate();
    await sut.process(job({ update_id: 4, my_chat_member: { chat } }));
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
    expect(mocks.cursorRunner.executeAsync).not.toHaveBeenCalled();
  });
});
