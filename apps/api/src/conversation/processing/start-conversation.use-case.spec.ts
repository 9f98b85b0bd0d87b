import { isNewConversationCommand } from './start-conversation.use-case';

describe('isNewConversationCommand', () => {
  it('matches /new alone, addressed to a bot, or before words, in any case', () => {
    for (const text of ['/new', '/NEW', ' /new ', '/new please', '/new@jarek_va_bot', '/new@jarek_va_bot now']) {
      expect(isNewConversationCommand(text)).toBe(true);
    }
  });

  it('leaves other texts to be forwarded', () => {
    for (const text of ['/newline', '/news today', 'new', 'start a /new one', '/ne', '/new@', '']) {
      expect(isNewConversationCommand(text)).toBe(false);
    }
  });
});
