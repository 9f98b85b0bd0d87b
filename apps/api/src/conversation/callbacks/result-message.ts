/**
 * cursor-runner's callback turned into the Telegram message the user reads (docs/cursor-runner.md,
 * "Result message"): real Telegram HTML with every piece of text escaped once, so `<pre><code>`
 * blocks render, and no message exceeds Telegram's 4 096 characters or is empty.
 */

import { escapeHtml } from '../../adapters/telegram';
import { plainMessage, type ChatMessage } from '../chat-replies';

/** The callback fields the message is built from, normalised. */
export interface CallbackResult {
  success: boolean;
  iterations: number;
  maxIterations: number;
  output: string;
  error: string | undefined;
  exitCode: number;
  duration: string | undefined;
}


/** Telegram's limit on a message's text after entity parsing. */
export const TELEGRAM_MESSAGE_LIMIT = 4_096;
const OUTPUT_LIMIT = { debug: 3_500, normal: 4_000 };
const WARNINGS_LIMIT = 500;
const EMPTY_OUTPUT = '✅ Done (no output).';

/** ESC [ parameters letter: colours, cursor moves and erasures in a terminal's output. */
const ANSI_CSI = /\u001b\[[?0-9;]*[A-Za-z]/g; // eslint-disable-line no-control-regex -- ESC is the character this pattern exists to find

const TRUE_VALUES = new Set<unknown>([true, 'true', 1, '1']);
const FALSE_VALUES = new Set<unknown>([false, 'false', 0, '0', null, undefined]);

function truthy(value: unknown): boolean {
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  return Boolean(value);
}

function integer(value: unknown, fallback: number): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.trunc(number) : fallback;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const string = typeof value === 'string' ? value : JSON.stringify(value);
  return string.trim() === '' ? undefined : string;
}

/** Normalises a callback body (camelCase or snake_case, loosely typed); see "Result message". */
export function normalizeCallbackResult(body: Record<string, unknown>): CallbackResult {
  return {
    success: truthy(body.success),
    iterations: integer(body.iterations, 0),
    maxIterations: integer(body.maxIterations ?? body.max_iterations, 25),
    output: text(body.output) ?? '',
    error: text(body.error),
    exitCode: integer(body.exitCode ?? body.exit_code, 0),
    duration: text(body.duration),
  };
}

/** Terminal output made fit to read: ANSI sequences removed, CRLF → LF, trimmed. */
export function cleanTerminalText(value: string | undefined): string {
  if (!value) return '';
  return value.replace(ANSI_CSI, '').replace(/\r\n/g, '\n').trim();
}

/** `value` cut to `limit` characters (code points, so an emoji is never split), and whether it was cut. */
function cut(value: string, limit: number): { text: string; cut: boolean } {
  const characters = Array.from(value);
  return characters.length > limit ? { text: characters.slice(0, limit).join(''), cut: true } : { text: value, cut: false };
}

/** A message part: the same content as HTML and as plain text. */
type Part = ChatMessage;

const plainPart = plainMessage;
const codeBlock = (heading: string, body: string): Part => ({
  html: `${escapeHtml(heading)}\n<pre><code>${escapeHtml(body)}</code></pre>`,
  plain: `${heading}\n${body}`,
});

function outputPart(output: string, debug: boolean): Part | undefined {
  const cleaned = cleanTerminalText(output);
  if (!cleaned) return undefined;
  const limited = cut(cleaned, debug ? OUTPUT_LIMIT.debug : OUTPUT_LIMIT.normal);
  const body = limited.cut ? `${limited.text}\n...` : limited.text;
  if (!debug) return plainPart(body);
  return codeBlock(limited.cut ? '\n📝 Output (truncated):' : '\n📝 Output:', body);
}

function join(parts: Part[]): ChatMessage {
  return { html: parts.map((part) => part.html).join('\n'), plain: parts.map((part) => part.plain).join('\n') };
}

/**
 * The reply for a finished run: in debug mode with the run's figures, output and warnings
 * in code blocks; otherwise just the output, or the error. A run that succeeded without output
 * says so instead of sending an empty message, which Telegram rejects.
 */
export function buildResultMessage(result: CallbackResult, debug: boolean): ChatMessage {
  if (!result.success) {
    const error = cleanTerminalText(result.error ?? 'Unknown error occurred') || 'Unknown error occurred';
    return fitToTelegram(
      join([plainPart(debug ? `❌ Cursor command failed\n\nError: ${error}` : `❌ ${error}`)]),
    );
  }
  const parts: Part[] = [];
  if (debug) {
    parts.push(
      plainPart('✅ Cursor command completed successfully'),
      plainPart(`📊 Iterations: ${result.iterations}`),
      plainPart(`⏱ Duration: ${result.duration ?? 'N/A'}`),
    );
  }
  const output = outputPart(result.output, debug);
  if (output) parts.push(output);
  const warnings = debug ? cleanTerminalText(result.error) : '';
  if (warnings) {
    const limited = cut(warnings, WARNINGS_LIMIT);
    parts.push(codeBlock('\n⚠️ Warnings:', limited.cut ? `${limited.text}...` : limited.text));
  }
  if (parts.length === 0) parts.push(plainPart(EMPTY_OUTPUT));
  return fitToTelegram(join(parts));
}

/**
 * Keeps the visible text within Telegram's limit. The parts are already bounded, but debug figures
 * plus output plus warnings, or a long failure, can pass 4 096; such a message is cut to
 * plain text, which loses the code formatting but never the delivery.
 */
function fitToTelegram(message: ChatMessage): ChatMessage {
  const visible = Array.from(message.plain);
  if (visible.length <= TELEGRAM_MESSAGE_LIMIT) return message;
  const plain = `${visible.slice(0, TELEGRAM_MESSAGE_LIMIT - 4).join('')}\n...`;
  return plainMessage(plain);
}
