import { HELP_TEXT, STATUS_TEXT } from '../texts';
import { isLocalCommand, localReplyTo } from './answer-locally.use-case';

describe('local commands', () => {
  it('matches /start, /help and /status as a case-insensitive prefix, as the original did', () => {
    for (const text of ['/start', '/help me', '/STATUS', '/statusfoo']) expect(isLocalCommand(text)).toBe(true);
    for (const text of ['start', 'please /help', ' /start', '/stop']) expect(isLocalCommand(text)).toBe(false);
  });

  it('answers with the original texts', () => {
    expect(localReplyTo('/start')).toBe(
      "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\nAvailable commands:\n/help - Show this message\n/status - Check my status\n/new - Start a new conversation",
    );
    expect(localReplyTo('  /HELP ')).toBe(HELP_TEXT);
    expect(localReplyTo('/status')).toBe("✅ I'm online and ready to help!");
    expect(localReplyTo('/Status now')).toBe(STATUS_TEXT);
    expect(localReplyTo('')).toBe("I received your message: \n\nI'm still learning how to process messages. More features coming soon!");
  });
});

