import { TelegramClient } from './telegram-client';

/**
 * The env bot when `TELEGRAM_BOT_TOKEN` is blank: every call is a no-op resolving `null`, so a
 * deployment without a bot still starts (docs/telegram.md, "Bots").
 */
export class DisabledTelegramClient extends TelegramClient {
  readonly enabled = false;
  readonly tokenDigest = 'none';

  async sendMessage(): Promise<null> {
    return null;
  }

  async sendVoice(): Promise<null> {
    return null;
  }

  async sendDocument(): Promise<null> {
    return null;
  }

  async getFile(): Promise<null> {
    return null;
  }

  async fetchFile(): Promise<null> {
    return null;
  }

  async downloadFile(): Promise<null> {
    return null;
  }

  async setWebhook(): Promise<null> {
    return null;
  }

  async deleteWebhook(): Promise<null> {
    return null;
  }

  async getWebhookInfo(): Promise<null> {
    return null;
  }

  async getMe(): Promise<null> {
    return null;
  }

  async answerCallbackQuery(): Promise<null> {
    return null;
  }
}
