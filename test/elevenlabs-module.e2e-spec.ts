import {
  ElevenLabsNotConfiguredError,
  ElevenLabsTimeoutError,
  SpeechToText,
  TextToSpeech,
} from '../apps/api/src/adapters/elevenlabs';
import { fakeSpeech, multipartOf, SPEECH_TO_TEXT, startFakeElevenLabs, textToSpeechRoute } from './support/fakes/elevenlabs-server';
import type { FakeHttpServer } from './support/fakes/fake-http-server';
import { startTestApp, type TestApp } from './support/test-app';

const API_KEY = 'xi-module-key-51c2e8';
const NOT_CONFIGURED_LINE = 'ELEVENLABS_API_KEY is not set: voice messages are not transcribed and replies are sent as text';

describe('ElevenLabsModule in the app', () => {
  describe('without ELEVENLABS_API_KEY (the embedded quick start)', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('boots, says once that voice is off, and both ports report not configured', async () => {
      expect(app.logs.lines.filter((line) => line.msg === NOT_CONFIGURED_LINE)).toHaveLength(1);
      const speechToText = app.app.get(SpeechToText);
      const textToSpeech = app.app.get(TextToSpeech);
      expect(speechToText.isConfigured).toBe(false);
      expect(textToSpeech.isConfigured).toBe(false);
      await expect(speechToText.transcribe({ audio: Buffer.from('OggS') })).rejects.toThrow(
        new ElevenLabsNotConfiguredError('speech-to-text'),
      );
      const error = await textToSpeech.synthesize('hello').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsNotConfiguredError);
      expect(error.message).toBe('ElevenLabs API key is not configured');
    });

    it('still answers its health check', async () => {
      expect((await fetch(`${app.baseUrl}/health/live`)).status).toBe(200);
    });
  });

  describe('configured against a fake ElevenLabs', () => {
    let fake: FakeHttpServer;
    let app: TestApp;
    beforeAll(async () => {
      fake = await startFakeElevenLabs({ apiKey: API_KEY });
      app = await startTestApp({
        env: {
          ELEVENLABS_API_KEY: API_KEY,
          ELEVENLABS_API_BASE_URL: fake.url,
          ELEVENLABS_STT_MODEL_ID: 'scribe_test',
          ELEVENLABS_TTS_MODEL_ID: 'tts_test',
          ELEVENLABS_VOICE_ID: 'voice-from-config',
          ELEVENLABS_TIMEOUT_MS: '300',
        },
      });
    });
    afterAll(async () => {
      await app.close();
      await fake.stop();
    });
    beforeEach(() => fake.reset());

    it('transcribes and speaks with the configured models, voice and key', async () => {
      const speechToText = app.app.get(SpeechToText);
      const textToSpeech = app.app.get(TextToSpeech);
      expect(speechToText.isConfigured).toBe(true);
      expect(textToSpeech.isConfigured).toBe(true);

      await expect(speechToText.transcribe({ audio: Buffer.from('OggS-voice'), filename: 'voice.oga' })).resolves.toBe(
        'transcript of voice.oga (10 bytes)',
      );
      await expect(textToSpeech.synthesize('Done.')).resolves.toEqual(fakeSpeech('voice-from-config', 'tts_test', 'Done.'));

      expect(multipartOf(fake.requestsTo(SPEECH_TO_TEXT)[0]).fields).toEqual({ model_id: 'scribe_test' });
      expect(fake.requestsTo(textToSpeechRoute('voice-from-config'))).toHaveLength(1);
      expect(fake.requests.map((request) => request.headers['xi-api-key'])).toEqual([API_KEY, API_KEY]);
      expect(fake.connectionCount).toBe(1);
      expect(app.logs.lines.some((line) => line.msg === NOT_CONFIGURED_LINE)).toBe(false);
    });

    it('gives up after ELEVENLABS_TIMEOUT_MS', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { delayMs: 60_000, body: { text: 'late' } });
      const error = await app.app.get(SpeechToText).transcribe({ audio: Buffer.from('OggS') }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTimeoutError);
      expect(error.message).toBe('Request to ElevenLabs timed out: no answer within 300 ms');
    });

    it('logs each call, a failure with ElevenLabs’ answer, and never the key', async () => {
      fake.enqueue(textToSpeechRoute('voice-from-config'), {
        status: 400,
        body: { detail: { status: 'text_too_long', message: 'Text is too long' } },
      });
      await app.app.get(TextToSpeech).synthesize('x'.repeat(10)).catch(() => undefined);
      const line = app.logs.lines.find((logged) =>
        String(logged.msg).startsWith('ElevenLabs POST /v1/text-to-speech/voice-from-config?output_format=mp3_44100_128 → 400'),
      );
      expect(line).toMatchObject({ level: 40, context: 'ElevenLabs' });
      expect(String(line?.msg)).toMatch(/: ElevenLabsSynthesisError: Text is too long; response body: \{"detail":/);
      expect(app.logs.raw.join('\n')).not.toContain(API_KEY);
    });
  });
});
