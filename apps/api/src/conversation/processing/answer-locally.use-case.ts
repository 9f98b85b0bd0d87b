import { Injectable } from '@nestjs/common';
import type { TelegramBotHandle } from '../../telegram';
import { ChatReplies, plainMessage, type ReplyMedium, type ReplyOptions } from '../chat-replies';
import { echoText, HELP_TEXT, selectedText, STATUS_TEXT } from '../texts';

/** Commands answered here, never forwarded: a prefix match, case-insensitive (`/statusfoo` counts). */
const LOCAL_COMMAND = /^\/(start|help|status)/i;

/** Whether `text` is one of the local commands /start, /help, /status. */
export function isLocalCommand(text: string): boolean {
  return LOCAL_COMMAND.test(text);
}

/** The local answer to a message that was not forwarded: help, status, or an echo of a blank text. */
export function localReplyTo(text: string): string {
  const command = text.trim().toLowerCase();
  if (command.startsWith('/start') || command.startsWith('/help')) return HELP_TEXT;
  if (command.startsWith('/status')) return STATUS_TEXT;
  return echoText(text);
}

/**
 * Answers what is not forwarded to cursor-runner (docs/telegram.md, "Local commands"): /start,
 * /help and /status, a blank message, and a button whose data is blank or a local command.
 */
@Injectable()
export class AnswerLocally {
  constructor(private readonly replies: ChatReplies) {}

  /** Answers a message, in voice when the user spoke and voice output is allowed. */
  message(bot: TelegramBotHandle, chatId: number, text: string, options: ReplyOptions): Promise<ReplyMedium> {
    return this.replies.reply(bot, chatId, plainMessage(localReplyTo(text)), options);
  }

  /** Answers a pressed button by naming what was selected. */
  button(bot: TelegramBotHandle, chatId: number, data: string): Promise<void> {
    return this.replies.say(bot, chatId, selectedText(data));
  }
}
