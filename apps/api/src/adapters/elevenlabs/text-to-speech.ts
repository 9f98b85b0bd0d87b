/** The format of the audio {@link TextToSpeech.synthesize} returns: MP3, 44.1 kHz, 128 kbit/s. */
export const SPEECH_OUTPUT_FORMAT = 'mp3_44100_128';

/** The media type of that audio, for an upload to Telegram (`sendVoice` accepts MP3). */
export const SPEECH_MIME_TYPE = 'audio/mpeg';

/** ElevenLabs `voice_settings`, sent as given; omitted fields keep the voice's stored settings. */
export interface VoiceSettings {
  /** 0–1: higher is steadier, lower is more expressive. */
  stability?: number;
  /** 0–1: how closely to match the original voice. */
  similarity_boost?: number;
  /** 0–1: style exaggeration. */
  style?: number;
  use_speaker_boost?: boolean;
  /** Speaking rate, 1 = normal. */
  speed?: number;
}

export interface SpeechOptions {
  voiceSettings?: VoiceSettings;
}

/**
 * Text to speech (ElevenLabs `POST /v1/text-to-speech/<voice_id>`, docs/elevenlabs.md "Calls"), for voice
 * replies. The production implementation is `HttpTextToSpeech`; tests may provide another.
 */
export abstract class TextToSpeech {
  /**
   * Whether `ELEVENLABS_API_KEY` and a voice are set. When not, callers reply with text instead;
   * {@link synthesize} would reject with `ElevenLabsNotConfiguredError`.
   */
  abstract readonly isConfigured: boolean;

  /**
   * Speaks `text` with `ELEVENLABS_VOICE_ID` and `ELEVENLABS_TTS_MODEL_ID` and resolves with the
   * audio ({@link SPEECH_MIME_TYPE}, never empty, at most `MAX_AUDIO_RESPONSE_BYTES`). Rejects with
   * an `ElevenLabsError` subclass: not configured, invalid input ("Text is required"), connection,
   * timeout (`ELEVENLABS_TIMEOUT_MS`, default 60 s), invalid response, or `ElevenLabsSynthesisError`
   * (an error answer, with ElevenLabs' message).
   */
  abstract synthesize(text: string, options?: SpeechOptions): Promise<Buffer>;
}
