import { newAnswerLocally, silenceNestLogger } from '../../../../../test/support/conversation-mocks';
import { HELP_TEXT, STATUS_TEXT } from '../texts';
import { AnswerLocally, isLocalCommand, localReplyTo } from './answer-locally.use-case';

describe('local commands', () => {
  it('matches /start, /help and /status as a case-insensitive prefix, as a prefix', () => {
    for (const text of ['/start', '/help me', '/STATUS', '/statusfoo']) expect(isLocalCommand(text)).toBe(true);
    for (const text of ['start', 'please /help', ' /start', '/stop']) expect(isLocalCommand(text)).toBe(false);
  });

  it('answers with the help, status and echo texts', () => {
    expect(localReplyTo('/start')).toBe(
      "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\nAvailable commands:\n/help - Show this message\n/status - Check my status",
    );
    expect(localReplyTo('  /HELP ')).toBe(HELP_TEXT);
    expect(localReplyTo('/status')).toBe("✅ I'm online and ready to help!");
    expect(localReplyTo('/Status now')).toBe(STATUS_TEXT);
    expect(localReplyTo('')).toBe("I received your message: \n\nI'm still learning how to process messages. More features coming soon!");
  });
});


describe(AnswerLocally.name, () => {
  silenceNestLogger();

  it('writes the answer as HTML, replying to the message', async () => {
    const { sut, mocks } = newAnswerLocally();
    expect(await sut.message(mocks.bot, 42, '/status', { replyToMessageId: 5 })).toBe('text');
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, STATUS_TEXT, { parseMode: 'HTML', replyToMessageId: 5 });
  });

  it('speaks the answer to a user who spoke when voice output is allowed', async () => {
    const { sut, mocks } = newAnswerLocally();
    mocks.switches.on.add('allow_audio_output');
    expect(await sut.message(mocks.bot, 42, '/help', { spoken: true, replyToMessageId: 5 })).toBe('voice');
    expect(mocks.textToSpeech.synthesize).toHaveBeenCalledWith(HELP_TEXT);
    expect(mocks.client.sendVoice).toHaveBeenCalledWith(42, Buffer.from('mp3'), { replyToMessageId: 5, filename: 'reply.mp3' });
    expect(mocks.client.sendMessage).not.toHaveBeenCalled();
  });

  it('writes to a user who spoke when voice output is off', async () => {
    const { sut, mocks } = newAnswerLocally();
    expect(await sut.message(mocks.bot, 42, '/help', { spoken: true })).toBe('text');
    expect(mocks.textToSpeech.synthesize).not.toHaveBeenCalled();
  });

  it('names the selected button, escaped', async () => {
    const { sut, mocks } = newAnswerLocally();
    await sut.button(mocks.bot, 42, '<b>');
    expect(mocks.client.sendMessage).toHaveBeenCalledWith(42, 'You selected: &lt;b&gt;', { parseMode: 'HTML', replyToMessageId: undefined });
  });
});
