export { ElevenLabsModule } from './elevenlabs.module';
export { SpeechToText, type AudioUpload } from './speech-to-text';
export {
  SPEECH_MIME_TYPE,
  SPEECH_OUTPUT_FORMAT,
  TextToSpeech,
  type SpeechOptions,
  type VoiceSettings,
} from './text-to-speech';
export { MAX_UPLOAD_BYTES } from './http-speech-to-text';
export { MAX_AUDIO_RESPONSE_BYTES } from './http-text-to-speech';
export {
  ElevenLabsConnectionError,
  ElevenLabsError,
  ElevenLabsInputError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsSynthesisError,
  ElevenLabsTimeoutError,
  ElevenLabsTranscriptionError,
  type ElevenLabsFailure,
  type ElevenLabsOperation,
} from './elevenlabs.errors';
