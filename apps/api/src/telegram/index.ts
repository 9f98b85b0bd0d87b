export { TelegramModule } from './telegram.module';
export { TelegramBots, DEFAULT_BOT_NAME, type TelegramBotHandle, type TelegramBotView } from './telegram-bots.service';
export { TelegramWebhooks } from './telegram-webhooks.service';
export { TelegramFiles } from './telegram-files.service';
export { ALLOW_AUDIO_OUTPUT, TelegramReplies, type ReplyMedium, type ReplyOptions } from './telegram-replies.service';
export { TELEGRAM_WEBHOOK_PATH } from './telegram-admin.controller';
export {
  TelegramClient,
  type ChatId,
  type SendMessageOptions,
  type SendVoiceOptions,
  type TelegramDownload,
  type TelegramFile,
  type TelegramMessage,
  type TelegramParseMode,
  type TelegramResponse,
  type TelegramWebhookInfo,
} from './telegram-client';
export {
  TelegramApiError,
  TelegramConnectionError,
  TelegramError,
  TelegramFileTooLargeError,
  TelegramHttpError,
  TelegramTimeoutError,
  TelegramVoiceFileMissingError,
} from './telegram.errors';
export { escapeHtml } from './telegram-format';
