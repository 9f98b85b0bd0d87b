import * as path from 'node:path';

/**
 * HTML escaping for `parse_mode: HTML` (docs/telegram.md, "Sending messages"): `&` first (so an existing
 * entity is escaped rather than kept), then `<` and `>`. Quotes are left alone: Telegram's HTML
 * only needs them escaped inside attribute values, which plain text never has.
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Telegram's limit on a message's text after entity parsing, in characters. */
export const TELEGRAM_MESSAGE_LIMIT = 4_096;

/** MIME type of a voice upload by file extension (docs/telegram.md, "Sending messages"): Ogg and WAV by name, MP3 otherwise. */
export function voiceMimeType(fileName: string): string {
  switch (path.extname(fileName).toLowerCase()) {
    case '.ogg':
    case '.oga':
      return 'audio/ogg';
    case '.wav':
      return 'audio/wav';
    default:
      return 'audio/mpeg';
  }
}
