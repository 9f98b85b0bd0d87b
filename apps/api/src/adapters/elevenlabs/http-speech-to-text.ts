import type { AppConfig } from '@app/config';
import { FormData, multipartBodyOf } from '@app/outbound-http';
import { errorMessageOf } from './elevenlabs-error-text';
import type { ElevenLabsAnswer, ElevenLabsHttp } from './elevenlabs-http';
import {
  ElevenLabsInputError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsTranscriptionError,
} from './elevenlabs.errors';
import { SpeechToText, type AudioUpload } from './speech-to-text';

export const SPEECH_TO_TEXT_PATH = '/v1/speech-to-text';

/**
 * Largest audio accepted for transcription, in bytes (20 MiB): the most a Telegram bot can
 * download (`getFile`), so any voice or audio message fits and nothing larger is uploaded.
 */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

/**
 * Largest transcription answer read, in bytes (8 MiB). The JSON carries a timing entry per word;
 * an hour of speech is about 3 MB of it.
 */
export const MAX_TRANSCRIPTION_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The file name of an upload without one. */
export const DEFAULT_AUDIO_FILENAME = 'audio.ogg';

const DEFAULT_AUDIO_MIME_TYPE = 'application/octet-stream';

/** `type/subtype` with optional parameters and nothing that could end a header line. */
const MEDIA_TYPE = /^[A-Za-z0-9][\w.+-]*\/[\w.+-]+(?:\s*;[^\r\n]*)?$/;

export interface HttpSpeechToTextOptions {
  /** `ELEVENLABS_STT_MODEL_ID`. */
  modelId: string;
  /** Largest upload, in bytes; default {@link MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
}

function uploadFilename(filename: string | undefined): string {
  const lastSegment = (filename ?? '').split(/[/\\]/).pop()?.trim() ?? '';
  return lastSegment || DEFAULT_AUDIO_FILENAME;
}

/**
 * Speech to text over ElevenLabs' HTTP API: a multipart upload of `file` (with its file name),
 * `model_id` and, when given, `language_code`.
 */
export class HttpSpeechToText extends SpeechToText {
  private readonly maxUploadBytes: number;

  constructor(
    private readonly http: ElevenLabsHttp,
    private readonly options: HttpSpeechToTextOptions,
  ) {
    super();
    this.maxUploadBytes = options.maxUploadBytes ?? MAX_UPLOAD_BYTES;
  }

  static fromConfig(this: void, http: ElevenLabsHttp, config: AppConfig): HttpSpeechToText {
    return new HttpSpeechToText(http, { modelId: config.elevenLabs.sttModelId });
  }

  get isConfigured(): boolean {
    return this.http.isConfigured;
  }

  async transcribe(upload: AudioUpload): Promise<string> {
    if (!this.isConfigured) throw new ElevenLabsNotConfiguredError('speech-to-text');
    if (upload.audio.length === 0) throw new ElevenLabsInputError('speech-to-text', 'Audio is empty');
    if (upload.audio.length > this.maxUploadBytes) {
      throw new ElevenLabsInputError(
        'speech-to-text',
        `Audio is too large to transcribe: ${upload.audio.length} bytes (at most ${this.maxUploadBytes})`,
      );
    }
    const form = new FormData();
    form.append('model_id', this.options.modelId);
    // ElevenLabs reads `language_code`; a field named `language` would be ignored.
    const languageCode = upload.language?.trim();
    if (languageCode) form.append('language_code', languageCode);
    const mimeType = upload.mimeType && MEDIA_TYPE.test(upload.mimeType) ? upload.mimeType : DEFAULT_AUDIO_MIME_TYPE;
    form.append('file', new Blob([upload.audio], { type: mimeType }), uploadFilename(upload.filename));
    const multipart = await multipartBodyOf(form);
    return this.http.post(
      {
        operation: 'speech-to-text',
        path: SPEECH_TO_TEXT_PATH,
        contentType: multipart.contentType,
        accept: 'application/json',
        body: multipart.body,
        maxResponseBytes: MAX_TRANSCRIPTION_RESPONSE_BYTES,
      },
      transcriptOf,
    );
  }
}

/** The `text` of a transcription answer, or the error for an answer without one. */
export function transcriptOf(answer: ElevenLabsAnswer): string {
  const text = answer.body.toString('utf8');
  if (answer.status < 200 || answer.status >= 300) {
    throw new ElevenLabsTranscriptionError(errorMessageOf(answer.status, text), answer.status);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ElevenLabsInvalidResponseError(
      'speech-to-text',
      answer.status,
      `Failed to parse response: ${(error as Error).message}`,
    );
  }
  const transcript = typeof parsed === 'object' && parsed !== null ? (parsed as { text?: unknown }).text : undefined;
  const trimmed = typeof transcript === 'string' ? transcript.trim() : '';
  if (!trimmed) {
    throw new ElevenLabsTranscriptionError('No text returned from transcription', answer.status, 'no_text');
  }
  return trimmed;
}
