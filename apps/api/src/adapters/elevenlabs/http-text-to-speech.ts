import type { AppConfig } from '@app/config';
import { errorMessageOf } from './elevenlabs-error-text';
import type { ElevenLabsAnswer, ElevenLabsHttp } from './elevenlabs-http';
import {
  ElevenLabsInputError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsSynthesisError,
} from './elevenlabs.errors';
import {
  SPEECH_MIME_TYPE,
  SPEECH_OUTPUT_FORMAT,
  TextToSpeech,
  type SpeechOptions,
  type VoiceSettings,
} from './text-to-speech';

export const TEXT_TO_SPEECH_PATH = '/v1/text-to-speech';

/**
 * Largest audio answer read, in bytes (20 MiB): about 20 minutes of 128 kbit/s MP3, far more than
 * a Telegram message's 4096 characters take to speak, and well under `sendVoice`'s 50 MB upload limit.
 */
export const MAX_AUDIO_RESPONSE_BYTES = 20 * 1024 * 1024;

export interface HttpTextToSpeechOptions {
  /** `ELEVENLABS_TTS_MODEL_ID`. */
  modelId: string;
  /** `ELEVENLABS_VOICE_ID`; blank means not configured. */
  voiceId: string;
  /** Largest audio answer read, in bytes; default {@link MAX_AUDIO_RESPONSE_BYTES}. */
  maxAudioBytes?: number;
}

interface SynthesisRequest {
  text: string;
  model_id: string;
  output_format: string;
  voice_settings?: VoiceSettings;
}

/**
 * Text to speech over ElevenLabs' HTTP API: a JSON body `{text, model_id, output_format,
 * voice_settings?}` with `Accept: audio/mpeg`; the answer is the MP3 itself.
 */
export class HttpTextToSpeech extends TextToSpeech {
  private readonly maxAudioBytes: number;

  constructor(
    private readonly http: ElevenLabsHttp,
    private readonly options: HttpTextToSpeechOptions,
  ) {
    super();
    this.maxAudioBytes = options.maxAudioBytes ?? MAX_AUDIO_RESPONSE_BYTES;
  }

  static fromConfig(this: void, http: ElevenLabsHttp, config: AppConfig): HttpTextToSpeech {
    return new HttpTextToSpeech(http, { modelId: config.elevenLabs.ttsModelId, voiceId: config.elevenLabs.voiceId });
  }

  get isConfigured(): boolean {
    return this.http.isConfigured && this.options.voiceId.trim() !== '';
  }

  async synthesize(text: string, options: SpeechOptions = {}): Promise<Buffer> {
    if (!this.http.isConfigured) throw new ElevenLabsNotConfiguredError('text-to-speech');
    if (!text?.trim()) throw new ElevenLabsInputError('text-to-speech', 'Text is required');
    const voiceId = this.options.voiceId.trim();
    if (!voiceId) throw new ElevenLabsNotConfiguredError('text-to-speech', 'ElevenLabs voice_id is not configured');
    const request: SynthesisRequest = { text, model_id: this.options.modelId, output_format: SPEECH_OUTPUT_FORMAT };
    if (options.voiceSettings) request.voice_settings = options.voiceSettings;
    return this.http.post(
      {
        operation: 'text-to-speech',
        // The current API reads output_format from the query and ignores the body field; older
        // versions read the body, so it goes in both.
        path: `${TEXT_TO_SPEECH_PATH}/${encodeURIComponent(voiceId)}?output_format=${SPEECH_OUTPUT_FORMAT}`,
        contentType: 'application/json',
        accept: SPEECH_MIME_TYPE,
        body: Buffer.from(JSON.stringify(request)),
        maxResponseBytes: this.maxAudioBytes,
      },
      audioOf,
    );
  }
}

/** The audio of a synthesis answer, or the error for an answer without one. */
export function audioOf(answer: ElevenLabsAnswer): Buffer {
  if (answer.status < 200 || answer.status >= 300) {
    throw new ElevenLabsSynthesisError(errorMessageOf(answer.status, answer.body.toString('utf8')), answer.status);
  }
  const mediaType = answer.contentType.split(';')[0].trim().toLowerCase();
  if (mediaType && !mediaType.startsWith('audio/') && mediaType !== 'application/octet-stream') {
    throw new ElevenLabsInvalidResponseError(
      'text-to-speech',
      answer.status,
      `Expected audio from ElevenLabs, got ${mediaType}`,
    );
  }
  if (answer.body.length === 0) {
    throw new ElevenLabsInvalidResponseError('text-to-speech', answer.status, 'ElevenLabs returned no audio');
  }
  return answer.body;
}
