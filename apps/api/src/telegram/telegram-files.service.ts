import { Injectable } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import type { File as TelegramFile } from '@grammyjs/types';
import { filePathOf, type TelegramDownload } from '../adapters/telegram';
import type { TelegramBotHandle } from './telegram-bots.service';
import { FILE_INFO_TTL_MS, TELEGRAM_CACHE } from './telegram.cache';

/**
 * Files users send (voice, audio, documents). `getFile` metadata is cached per bot and file id for
 * 50 minutes (Telegram keeps a file_path downloadable for at least an hour), so a retried job
 * downloads without asking Telegram again. The bytes themselves are never cached.
 */
@Injectable()
export class TelegramFiles {
  /** Telegram's `File` for `fileId` as `bot` sees it (file ids are per bot), cached; `null` without a token. */
  @Cacheable({
    namespace: TELEGRAM_CACHE,
    ttl: FILE_INFO_TTL_MS,
    key: (bot: TelegramBotHandle, fileId: string) => ['file', bot.client.tokenDigest, fileId],
  })
  async info(bot: TelegramBotHandle, fileId: string): Promise<TelegramFile | null> {
    return (await bot.client.getFile(fileId))?.result ?? null;
  }

  /**
   * Downloads a file into memory (at most 20 MB, the Bot API's limit for bots). Bytes rather than a
   * temporary file: nothing of a user's audio is left on disk when a caller forgets to clean up or
   * the process dies, no file name built from Telegram's path touches the file system, and the
   * speech-to-text upload that follows needs the bytes anyway. `null` for the env bot without a token.
   */
  async download(bot: TelegramBotHandle, fileId: string): Promise<TelegramDownload | null> {
    const file = await this.info(bot, fileId);
    return file ? bot.client.fetchFile(filePathOf(file)) : null;
  }
}
