export { ElevenLabsModule } from './elevenlabs.module';
export { SpeechToText, type AudioUpload } from './speech-to-text';
export {
  SPEECH_MIME_TYPE,
  SPEECH_OUTPUT_FORMAT,
  TextToSpeech,
  type SpeechOptions,
  type VoiceSettings,
} from './text-to-speech';
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
export { ElevenLabsHttp, type ElevenLabsHttpOptions } from './elevenlabs-http';
export { HttpSpeechToText, MAX_UPLOAD_BYTES, type HttpSpeechToTextOptions } from './http-speech-to-text';
export { HttpTextToSpeech, MAX_AUDIO_RESPONSE_BYTES, type HttpTextToSpeechOptions } from './http-text-to-speech';
