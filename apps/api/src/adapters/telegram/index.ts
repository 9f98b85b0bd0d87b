export { TelegramBotApiModule } from './telegram-bot-api.module';
export {
  TelegramClient,
  type ChatId,
  type SendMessageOptions,
  type SendVoiceOptions,
  type TelegramDownload,
  type TelegramResponse,
} from './telegram-client';
export { HttpTelegramClient, MAX_DOWNLOAD_BYTES, filePathOf } from './http-telegram.client';
export { DisabledTelegramClient } from './disabled-telegram.client';
export { TelegramTransport, type TelegramTransportOptions } from './telegram-transport';
export {
  TelegramApiError,
  TelegramConnectionError,
  TelegramError,
  TelegramFileTooLargeError,
  TelegramHttpError,
  TelegramTimeoutError,
  TelegramVoiceFileMissingError,
} from './telegram.errors';
export { escapeHtml, TELEGRAM_MESSAGE_LIMIT } from './telegram-format';
