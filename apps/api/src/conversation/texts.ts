import type { UpdateKind } from './telegram-update';

/**
 * Every text a Telegram user reads from this service, in one place. The wording is the product's:
 * users and cursor-runner's own conversation code recognise these messages (see
 * docs/telegram.md, "What the user reads").
 */

export const HELP_TEXT =
  "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\n" +
  'Available commands:\n/help - Show this message\n/status - Check my status\n/new - Start a new conversation';
export const STATUS_TEXT = "✅ I'm online and ready to help!";

/** The answer to /new once cursor-runner has started a fresh conversation. */
export const NEW_CONVERSATION_TEXT = '🆕 Started a new conversation.';

/** The answer to /new when cursor-runner could not start one. */
export function newConversationErrorText(message: string): string {
  return `❌ Could not start a new conversation: ${message}`;
}

/** The answer to a message that is neither a command nor forwarded (a blank text). */
export function echoText(text: string): string {
  return `I received your message: ${text}\n\nI'm still learning how to process messages. More features coming soon!`;
}

/** Longest part of a transcription error quoted to the user, in characters. */
export const TRANSCRIPTION_ERROR_CHARS = 4000;

export const TRANSCRIBING_TEXT = '🎤 Transcribing audio...';
export const PROCESSING_TEXT = "⏳ Processing your request... I'll send the results when complete.";
export const NO_TRANSCRIPT_TEXT =
  "❌ Sorry, I couldn't transcribe the audio message. Please try again or send a text message.";
export const SPEECH_TO_TEXT_OFF_TEXT =
  "❌ Sorry, I can't listen to voice messages here: speech-to-text is not configured. Please send a text message.";

/** The toast Telegram shows on the button the user pressed. */
export const CALLBACK_QUERY_ANSWER = 'Processing...';

/** The answer to a button press whose data is not forwarded (blank, or a local command). */
export function selectedText(data: string): string {
  return `You selected: ${data}`;
}

/** The reply when transcription failed, the error's message cut to 4000 characters. */
export function transcriptionErrorText(message: string): string {
  // ElevenLabs' own messages end with a full stop, which the sentence's own would double.
  const shown = message.length > TRANSCRIPTION_ERROR_CHARS ? `${message.slice(0, TRANSCRIPTION_ERROR_CHARS)}...` : message.replace(/\.+$/, '');
  return `❌ Error transcribing audio: ${shown}. Please try again or send a text message.`;
}

/** The reply when cursor-runner refused the message or could not be reached. */
export function forwardErrorText(message: string): string {
  return `❌ Error: Failed to execute cursor command. ${message}`;
}

/**
 * Sent instead of forwarding again when an earlier attempt may have reached cursor-runner and it is
 * unknown whether it did (the process was killed mid-forward, or cursor-runner did not answer).
 */
export const FORWARD_INTERRUPTED_TEXT =
  "⚠️ Your request may have been interrupted: I can't tell whether it reached the agent. If no result arrives, please send it again.";

/** Why an update cut short too many times is given up (in {@link failureText}). */
export function interruptedReason(interruptions: number): string {
  return `it was interrupted ${interruptions} times. If it was a request for the agent, it may have reached it; you can send it again`;
}

/** The reply when processing an update failed for good. */
export function failureText(kind: UpdateKind, message: string): string {
  return kind === 'callback_query'
    ? `Sorry, I encountered an error processing your callback: ${message}`
    : `Sorry, I encountered an error processing your message: ${message}`;
}

/** Sent instead of a cursor-runner result when building its message fails. */
export const FORMAT_FAILURE_TEXT = '⚠️ Command completed but failed to format response. Check logs for details.';

/** Sent when a result could not be delivered but the chat may still be reachable. */
export function processingErrorText(reason: string): string {
  return `❌ Error processing cursor command result: ${reason}`;
}

/**
 * Sent when cursor-runner's result for the user's request was refused on arrival (too large,
 * unreadable): cursor-runner sends a result once, so it will not come.
 */
/**
 * A forwarded request whose result has not come by its deadline (cursor-runner keeps no record of the
 * runs it accepted); `minutes` since it was forwarded, when known.
 */
export function noResultText(minutes: number | undefined): string {
  const waited = minutes === undefined ? '' : ` in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `⌛ No result came for your request${waited}: cursor-runner may have restarted or lost it. If it comes after all, you will get it; otherwise please send your request again.`;
}

export function resultNotReceivedText(reason: string): string {
  return `❌ The result of your request could not be received: ${reason}. cursor-runner does not send it again; please ask again.`;
}
