/** One audio file to transcribe, as bytes: no temporary file is needed. */
export interface AudioUpload {
  /** The audio as received (Telegram voice notes are OGG/Opus). Not empty; at most `MAX_UPLOAD_BYTES`. */
  audio: Buffer;
  /**
   * The file name sent to ElevenLabs, which uses its extension to recognise the format. A path is
   * reduced to its last segment (`voice/file_12.oga` → `file_12.oga`); default `audio.ogg`.
   */
  filename?: string;
  /** The part's `Content-Type`; default `application/octet-stream` (ElevenLabs detects the format). */
  mimeType?: string;
  /** ISO-639 language of the speech; ElevenLabs detects it when absent. */
  language?: string;
}

/**
 * Speech to text (ElevenLabs `POST /v1/speech-to-text`, docs/elevenlabs.md "Calls"). Used for voice and audio
 * messages. The production implementation is `HttpSpeechToText`; tests may provide another.
 */
export abstract class SpeechToText {
  /**
   * Whether `ELEVENLABS_API_KEY` is set. When it is not, the app still runs (the embedded quick
   * start has no key) and {@link transcribe} rejects with `ElevenLabsNotConfiguredError`.
   */
  abstract readonly isConfigured: boolean;

  /**
   * Transcribes the audio with `ELEVENLABS_STT_MODEL_ID` (default `scribe_v1`) and resolves with
   * the text, trimmed and never empty. Rejects with an `ElevenLabsError` subclass: not configured,
   * invalid input (empty or larger than `MAX_UPLOAD_BYTES`), connection, timeout (`ELEVENLABS_TIMEOUT_MS`,
   * default 60 s), invalid response, or `ElevenLabsTranscriptionError` (an error answer, or
   * `reason: 'no_text'` with "No text returned from transcription").
   */
  abstract transcribe(upload: AudioUpload): Promise<string>;
}
