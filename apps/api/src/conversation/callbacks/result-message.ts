/**
 * cursor-runner's callback turned into the Telegram message the user reads (docs/cursor-runner.md,
 * "What the user sees"): real Telegram HTML with every piece of text escaped once, so `<pre><code>`
 * blocks render, and no message exceeds Telegram's 4 096 characters or is empty.
 */

import { escapeHtml, TELEGRAM_MESSAGE_LIMIT } from '../../adapters/telegram';
import { plainMessage, type ChatMessage } from '../chat-replies';

/** The callback fields the message is built from, normalised. */
export interface CallbackResult {
  success: boolean;
  /** The agent's iterations; `undefined` when the callback has none (cursor-runner sends none today). */
  iterations: number | undefined;
  maxIterations: number;
  output: string;
  error: string | undefined;
  /** The agent's exit code; `undefined` when the callback has none (cursor-runner's own failures). */
  exitCode: number | undefined;
  duration: string | undefined;
}

const OUTPUT_LIMIT = { debug: 3_500, normal: 4_000 };
const WARNINGS_LIMIT = 500;
/** Longest part of a failed run's error output (the agent's stderr) shown in the message. */
export const ERROR_OUTPUT_LIMIT = 1_000;
const EMPTY_OUTPUT = '✅ Done (no output).';
/** Ends a message cut to Telegram's limit as a whole. */
const FIT_NOTE = "\n✂️ Cut to Telegram's limit.";

/** A result's message, and whether it shows less than the whole output (which then goes as a file). */
export interface ResultMessage extends ChatMessage {
  outputCut: boolean;
}

/** ESC [ parameters letter: colours, cursor moves and erasures in a terminal's output. */
/**
 * A terminal's escape sequence (ECMA-48): a control sequence (`ESC [` parameters, intermediates, a final
 * byte: colours in either form, `ESC[>4;2m`, cursor moves), an operating-system command (`ESC ]` … BEL or
 * `ESC \\`: a window title, an OSC 8 hyperlink), a device-control or private string, a character-set
 * designation (`ESC ( B`), or any other escape of one final byte; the 8-bit introducers (U+009B for
 * `ESC [`, U+009D for `ESC ]`, …) alike. A string never ended loses only its introducer (and, after
 * `ESC`, the next character): the text after it stays.
 */
export const TERMINAL_SEQUENCE =
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)|(?:\u001b[PX^_]|[\u0090\u0098\u009e\u009f])[^\u001b\u009c]*(?:\u001b\\|\u009c)|\u001b[ -/]*[0-~]/g; // eslint-disable-line no-control-regex -- ESC and BEL are the characters this pattern exists to find

const TRUE_VALUES = new Set<unknown>([true, 'true', 1, '1']);
const FALSE_VALUES = new Set<unknown>([false, 'false', 0, '0', null, undefined]);

function truthy(value: unknown): boolean {
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  return Boolean(value);
}

function optionalInteger(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.trunc(number) : undefined;
}

function integer(value: unknown, fallback: number): number {
  return optionalInteger(value) ?? fallback;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const string = typeof value === 'string' ? value : JSON.stringify(value);
  return string.trim() === '' ? undefined : string;
}

/** Normalises a callback body (camelCase or snake_case, loosely typed); see "What the user sees". */
export function normalizeCallbackResult(body: Record<string, unknown>): CallbackResult {
  return {
    success: truthy(body.success),
    iterations: optionalInteger(body.iterations),
    maxIterations: integer(body.maxIterations ?? body.max_iterations, 25),
    output: text(body.output) ?? '',
    error: text(body.error),
    exitCode: optionalInteger(body.exitCode ?? body.exit_code),
    duration: text(body.duration),
  };
}

/**
 * The agent's exit code when it says the run failed: a number other than 0. cursor-runner reports
 * every run whose agent started as `success: true`, whatever the agent's exit code
 * (docs/cursor-runner.md, "Callback contract"), so `success` alone does not tell.
 */
function failingExitCode(result: CallbackResult): number | undefined {
  return result.exitCode !== undefined && result.exitCode !== 0 ? result.exitCode : undefined;
}

/** Whether the run failed: cursor-runner said so, or the agent exited with a non-zero code. */
export function runFailed(result: CallbackResult): boolean {
  return !result.success || failingExitCode(result) !== undefined;
}

/** Terminal output made fit to read: terminal sequences removed, CRLF → LF, trimmed. */
export function cleanTerminalText(value: string | undefined): string {
  if (!value) return '';
  return value.replace(TERMINAL_SEQUENCE, '').replace(/\r\n/g, '\n').trim();
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

/** The output as the message shows it: cut to the mode's limit with a note that the whole follows as a file. */
function outputParts(output: string, debug: boolean): { parts: Part[]; cut: boolean } {
  const cleaned = cleanTerminalText(output);
  if (!cleaned) return { parts: [], cut: false };
  const limit = debug ? OUTPUT_LIMIT.debug : OUTPUT_LIMIT.normal;
  const limited = cut(cleaned, limit);
  const note = limited.cut ? [plainPart(outputCutNote(limit, Array.from(cleaned).length))] : [];
  const body = limited.cut ? `${limited.text}…` : limited.text;
  const shown = debug ? codeBlock(limited.cut ? '\n📝 Output (cut):' : '\n📝 Output:', body) : plainPart(body);
  return { parts: [shown, ...note], cut: limited.cut };
}

/** Says that the message shows only the start of the output, and that the whole comes as a file. */
export function outputCutNote(shown: number, total: number): string {
  return `\n✂️ Output cut to ${shown} of ${total} characters: the whole output follows as a file.`;
}

function join(parts: Part[]): ChatMessage {
  return { html: parts.map((part) => part.html).join('\n'), plain: parts.map((part) => part.plain).join('\n') };
}

/**
 * The reply for a finished run: a failed one ({@link runFailed}) as {@link failureMessage} says;
 * a successful one in debug mode with the run's figures, output and warnings in code blocks,
 * otherwise just the output. A run that succeeded without output says so instead of sending an
 * empty message, which Telegram rejects.
 */
export function buildResultMessage(result: CallbackResult, debug: boolean): ResultMessage {
  const output = outputParts(result.output, debug);
  if (runFailed(result)) {
    // Only a run with an exit code shows its output (see failureMessage).
    const shown = failingExitCode(result) === undefined ? { parts: [], cut: false } : output;
    return fitToTelegram(failureMessage(result, debug, shown.parts), shown);
  }
  const parts: Part[] = [];
  if (debug) {
    parts.push(plainPart('✅ Cursor command completed successfully'));
    if (result.iterations !== undefined) parts.push(plainPart(`📊 Iterations: ${result.iterations}`));
    parts.push(plainPart(`⏱ Duration: ${result.duration ?? 'N/A'}`));
  }
  parts.push(...output.parts);
  const warnings = debug ? cleanTerminalText(result.error) : '';
  if (warnings) {
    const limited = cut(warnings, WARNINGS_LIMIT);
    parts.push(codeBlock('\n⚠️ Warnings:', limited.cut ? `${limited.text}...` : limited.text));
  }
  if (parts.length === 0) parts.push(plainPart(EMPTY_OUTPUT));
  return fitToTelegram(join(parts), output);
}

/**
 * A failed run. With a non-zero exit code: ❌ and the code, the agent's error output cut to
 * {@link ERROR_OUTPUT_LIMIT} characters with a note saying so, then the output as a successful run
 * shows it. Without one (cursor-runner's own failure, or `success: false` alone): ❌ and the error.
 */
function failureMessage(result: CallbackResult, debug: boolean, output: Part[]): ChatMessage {
  const exitCode = failingExitCode(result);
  const error = cleanTerminalText(result.error);
  if (exitCode === undefined) {
    const shown = error || 'Unknown error occurred';
    return plainPart(debug ? `❌ Cursor command failed\n\nError: ${shown}` : `❌ ${shown}`);
  }
  const parts: Part[] = [
    plainPart(debug ? `❌ Cursor command failed with exit code ${exitCode}` : `❌ Failed with exit code ${exitCode}`),
  ];
  if (debug) parts.push(plainPart(`⏱ Duration: ${result.duration ?? 'N/A'}`));
  if (error) {
    const limited = cut(error, ERROR_OUTPUT_LIMIT);
    const body = limited.cut
      ? `${limited.text}\n… (error output cut to ${ERROR_OUTPUT_LIMIT} of ${Array.from(error).length} characters)`
      : limited.text;
    parts.push(debug ? codeBlock('\n⚠️ Error output:', body) : plainPart(body));
  }
  parts.push(...output);
  return join(parts);
}

/**
 * Keeps the visible text within Telegram's limit. The parts are already bounded, but debug figures
 * plus output plus warnings, or a long failure, can pass 4 096 characters; such a message is cut to
 * plain text with a note, which loses the code formatting but never the delivery — and counts as a
 * cut output when there was output, so the whole of it goes as a file.
 */
function fitToTelegram(message: ChatMessage, output: { parts: Part[]; cut: boolean }): ResultMessage {
  const visible = Array.from(message.plain);
  if (visible.length <= TELEGRAM_MESSAGE_LIMIT) return { ...message, outputCut: output.cut };
  const plain = `${visible.slice(0, TELEGRAM_MESSAGE_LIMIT - Array.from(FIT_NOTE).length).join('')}${FIT_NOTE}`;
  return { ...plainMessage(plain), outputCut: output.parts.length > 0 };
}
