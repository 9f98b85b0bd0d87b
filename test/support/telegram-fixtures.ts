import * as fs from 'node:fs';
import * as path from 'node:path';

/** Names of the update fixtures in `test/fixtures/telegram/` (see its README). */
export type TelegramUpdateFixture =
  | 'text-message'
  | 'start-command'
  | 'voice-message'
  | 'audio-document'
  | 'edited-message'
  | 'callback-query'
  | 'my-chat-member'
  | 'photo-with-caption'
  | 'photo';

/** A fresh copy of a Bot API `Update` fixture, safe to modify. */
export function loadTelegramUpdate(name: TelegramUpdateFixture): Record<string, unknown> {
  const file = path.join(__dirname, '..', 'fixtures', 'telegram', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}
