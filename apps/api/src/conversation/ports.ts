import type { TelegramDownload } from '../adapters/telegram';
import type { TelegramBotHandle } from '../telegram';

/**
 * What the conversation needs from the rest of the app, as small ports: the use cases depend on
 * these (and on the adapters' own ports `CursorRunnerClient`, `SpeechToText`, `TextToSpeech`,
 * `PendingRequestStore`, `JobQueue`), so a unit spec hands them fakes. `ConversationModule` binds
 * each to the feature that provides it.
 */

/** The bot a stored id names (the `telegram` feature's `TelegramBots`). */
export abstract class BotLookup {
  /** `null`/`undefined` is the env bot; an id is the active bot with it, or `null` when gone. */
  abstract findById(id: number | null | undefined): Promise<TelegramBotHandle | null>;
  /** The bot's `@username` without the `@`, or `null` when it cannot be asked (no token). */
  abstract usernameOf(bot: TelegramBotHandle): Promise<string | null>;
}

/** Files users send, downloaded through the bot they came through (the `telegram` feature's `TelegramFiles`). */
export abstract class FileDownloads {
  /** The file's bytes, or `null` for the env bot without a token. */
  abstract download(bot: TelegramBotHandle, fileId: string): Promise<TelegramDownload | null>;
}

/** Boolean switches operators set (the `settings` feature's `SettingsService`). */
export abstract class SettingSwitches {
  /** Whether `name` is on; a missing row or a database error reads as off. */
  abstract isEnabled(name: string): Promise<boolean>;
}

/** The switch that makes the bot say what it is doing and adds a run's figures to its result. */
export const DEBUG_SETTING = 'debug';

/** The switch that lets a spoken message get a spoken answer. */
export const ALLOW_AUDIO_OUTPUT = 'allow_audio_output';
