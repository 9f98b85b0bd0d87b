/** Which ElevenLabs service a failure belongs to. */
export type ElevenLabsOperation = 'speech-to-text' | 'text-to-speech';

/**
 * Why an ElevenLabs call failed, for callers that react differently (docs/telegram.md, "Audio messages": a transcript
 * with no text gets its own reply; everything else is reported with the error's message).
 * - `not_configured`: no API key (or no voice); nothing was sent.
 * - `invalid_input`: blank text, empty or oversized audio; nothing was sent.
 * - `connection`: ElevenLabs could not be reached, or the connection broke mid-answer.
 * - `timeout`: no complete answer within `ELEVENLABS_TIMEOUT_MS`.
 * - `invalid_response`: a 2xx answer that is not what the endpoint promises (not JSON, no audio, too large).
 * - `rejected`: ElevenLabs answered with an error status (`status` holds it).
 * - `no_text`: the transcription succeeded but holds no text.
 */
export type ElevenLabsFailure =
  | 'not_configured'
  | 'invalid_input'
  | 'connection'
  | 'timeout'
  | 'invalid_response'
  | 'rejected'
  | 'no_text';

/**
 * Any failure of the speech-to-text or text-to-speech port (docs/elevenlabs.md). The message is the one
 * users are shown (e.g. "ElevenLabs API key is not configured", or ElevenLabs' own
 * `detail`); it never contains the API key or audio bytes.
 */
export class ElevenLabsError extends Error {
  readonly operation: ElevenLabsOperation;
  readonly reason: ElevenLabsFailure;
  /** The HTTP status ElevenLabs answered with, when it answered. */
  readonly status: number | undefined;

  constructor(
    message: string,
    details: { operation: ElevenLabsOperation; reason: ElevenLabsFailure; status?: number },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    this.operation = details.operation;
    this.reason = details.reason;
    this.status = details.status;
  }
}

/** `ELEVENLABS_API_KEY` (or, for text-to-speech, the voice) is not configured; check `isConfigured` first. */
export class ElevenLabsNotConfiguredError extends ElevenLabsError {
  constructor(operation: ElevenLabsOperation, message = 'ElevenLabs API key is not configured') {
    super(message, { operation, reason: 'not_configured' });
  }
}

/** The caller's input cannot be sent: blank text, empty audio, audio over the upload limit. */
export class ElevenLabsInputError extends ElevenLabsError {
  constructor(operation: ElevenLabsOperation, message: string) {
    super(message, { operation, reason: 'invalid_input' });
  }
}

/** ElevenLabs could not be reached, or the connection broke before a full answer (refused, DNS, reset). */
export class ElevenLabsConnectionError extends ElevenLabsError {
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, …) when there is one. */
  readonly code: string | undefined;

  constructor(operation: ElevenLabsOperation, cause: Error & { code?: string }) {
    super(`Failed to connect to ElevenLabs: ${cause.message}`, { operation, reason: 'connection' }, { cause });
    this.code = cause.code;
  }
}

/** No complete answer within the deadline (connecting, uploading and reading together). */
export class ElevenLabsTimeoutError extends ElevenLabsError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(operation: ElevenLabsOperation, timeoutMs: number, detail = `no answer within ${timeoutMs} ms`) {
    super(`Request to ElevenLabs timed out: ${detail}`, { operation, reason: 'timeout' });
    this.timeoutMs = timeoutMs;
  }
}

/** A 2xx answer that is not what the endpoint promises: unparsable JSON, no audio, or more bytes than allowed. */
export class ElevenLabsInvalidResponseError extends ElevenLabsError {
  constructor(operation: ElevenLabsOperation, status: number, message: string) {
    super(message, { operation, reason: 'invalid_response', status });
  }
}

/**
 * Speech-to-text failed: ElevenLabs answered with an error status (`reason: 'rejected'`, the
 * message taken from its body), or the transcription holds no text (`reason: 'no_text'`,
 * "No text returned from transcription").
 */
export class ElevenLabsTranscriptionError extends ElevenLabsError {
  constructor(message: string, status: number, reason: 'rejected' | 'no_text' = 'rejected') {
    super(message, { operation: 'speech-to-text', reason, status });
  }
}

/** Text-to-speech failed: ElevenLabs answered with an error status; the message is taken from its body. */
export class ElevenLabsSynthesisError extends ElevenLabsError {
  constructor(message: string, status: number) {
    super(message, { operation: 'text-to-speech', reason: 'rejected', status });
  }
}
