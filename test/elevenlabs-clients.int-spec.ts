import {
  ElevenLabsConnectionError,
  ElevenLabsHttp,
  ElevenLabsInputError,
  ElevenLabsInvalidResponseError,
  ElevenLabsNotConfiguredError,
  ElevenLabsSynthesisError,
  ElevenLabsTimeoutError,
  ElevenLabsTranscriptionError,
  HttpSpeechToText,
  HttpTextToSpeech,
  type ElevenLabsHttpOptions,
  type HttpSpeechToTextOptions,
  type HttpTextToSpeechOptions,
} from '../apps/api/src/adapters/elevenlabs';
import {
  fakeSpeech,
  multipartOf,
  SPEECH_TO_TEXT,
  startFakeElevenLabs,
  textToSpeechRoute,
} from './support/fakes/elevenlabs-server';
import type { FakeHttpServer, FakeReply } from './support/fakes/fake-http-server';
import { recordLogLines } from './support/log-lines';
import { CLOSED_PORT } from './support/redis-server';

const API_KEY = 'xi-test-key-7f3a9c';
const VOICE = 'voice-123';
/** Audio whose bytes are recognisable text, so a test can prove they never reach a log line. */
const AUDIO = Buffer.concat([Buffer.from('OggS'), Buffer.from('audio-bytes-marker'), Buffer.from([0, 1, 2, 255])]);

/** Every error body shape of docs/elevenlabs.md, "Error answers", and the message each becomes. */
const ERROR_SHAPES: Array<[string, FakeReply & { status: number }, string]> = [
  ['a detail string', { status: 400, body: { detail: 'Unsupported audio format' } }, 'Unsupported audio format'],
  [
    'a detail array',
    {
      status: 422,
      body: {
        detail: [
          { loc: ['body', 'a'], msg: 'Field required', type: 'missing' },
          { loc: ['body', 'b'], msg: 'Value too long', type: 'too_long' },
        ],
      },
    },
    'Field required; Value too long',
  ],
  ['a top-level array', { status: 422, body: [{ msg: 'first' }, { msg: 'second' }] }, 'first; second'],
  [
    'ElevenLabs’ detail object',
    { status: 402, body: { detail: { status: 'quota_exceeded', message: 'Quota exceeded' } } },
    'Quota exceeded',
  ],
  ['an error field', { status: 400, body: { error: 'Bad request body' } }, 'Bad request body'],
  ['a message field', { status: 429, body: { message: 'Too many requests' } }, 'Too many requests'],
  ['a 5xx with a text body', { status: 503, body: 'upstream unavailable' }, 'HTTP 503: Service Unavailable'],
  ['a 500 with an unknown JSON shape', { status: 500, body: { oops: true } }, 'HTTP 500: Internal Server Error'],
];

describe('ElevenLabs clients against a fake ElevenLabs', () => {
  let fake: FakeHttpServer;
  let logged: string[];
  const transports: ElevenLabsHttp[] = [];

  function transport(options: Partial<ElevenLabsHttpOptions> = {}): ElevenLabsHttp {
    const created = new ElevenLabsHttp({ baseUrl: fake.url, apiKey: API_KEY, timeoutMs: 10_000, ...options });
    transports.push(created);
    return created;
  }
  function speechToText(
    options: Partial<ElevenLabsHttpOptions> = {},
    sttOptions: Partial<HttpSpeechToTextOptions> = {},
  ): HttpSpeechToText {
    return new HttpSpeechToText(transport(options), { modelId: 'scribe_v1', ...sttOptions });
  }
  function textToSpeech(
    options: Partial<ElevenLabsHttpOptions> = {},
    ttsOptions: Partial<HttpTextToSpeechOptions> = {},
  ): HttpTextToSpeech {
    return new HttpTextToSpeech(transport(options), { modelId: 'eleven_turbo_v2_5', voiceId: VOICE, ...ttsOptions });
  }
  const logText = () => logged.join('\n');

  beforeEach(async () => {
    fake = await startFakeElevenLabs({ apiKey: API_KEY });
    logged = recordLogLines(['log', 'warn']);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const created of transports.splice(0)) created.onApplicationShutdown();
    await fake.stop();
  });

  describe('speech to text', () => {
    it('uploads the file with its name, the model and the language, and returns the transcript', async () => {
      const text = await speechToText().transcribe({
        audio: AUDIO,
        filename: 'voice/file_12.oga',
        mimeType: 'audio/ogg',
        language: 'en',
      });
      expect(text).toBe(`transcript of file_12.oga (${AUDIO.length} bytes)`);
      const [sent] = fake.requests;
      expect(`${sent.method} ${sent.path}`).toBe(SPEECH_TO_TEXT);
      expect(sent.headers).toMatchObject({
        'xi-api-key': API_KEY,
        accept: 'application/json',
        'content-type': expect.stringMatching(/^multipart\/form-data; boundary=/),
        connection: 'keep-alive',
      });
      expect(multipartOf(sent)).toEqual({
        fields: { model_id: 'scribe_v1', language_code: 'en' },
        files: { file: { filename: 'file_12.oga', contentType: 'audio/ogg', content: AUDIO } },
      });
      expect(logged).toEqual([
        expect.stringMatching(
          /^log ElevenLabs POST \/v1\/speech-to-text → 200 in \d+ ms \(sent \d+ bytes, received \d+ bytes\)$/,
        ),
      ]);
      expect(logText()).not.toContain(API_KEY);
      expect(logText()).not.toContain('audio-bytes-marker');
    });

    it('names an upload without a file name audio.ogg, sends no language, and never a malformed media type', async () => {
      await speechToText().transcribe({ audio: AUDIO, mimeType: 'audio/ogg\r\nX-Injected: 1' });
      expect(multipartOf(fake.requests[0])).toEqual({
        fields: { model_id: 'scribe_v1' },
        files: { file: { filename: 'audio.ogg', contentType: 'application/octet-stream', content: AUDIO } },
      });
    });

    it('trims the transcript', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { body: { text: '  hello there \n', words: [] } });
      await expect(speechToText().transcribe({ audio: AUDIO })).resolves.toBe('hello there');
    });

    it.each([
      ['empty text', { text: '' }],
      ['blank text', { text: '   ' }],
      ['no text field', { language_code: 'eng', words: [] }],
    ])('rejects a transcription with %s as "No text returned from transcription"', async (_case, body) => {
      fake.enqueue(SPEECH_TO_TEXT, { body });
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTranscriptionError);
      expect(error).toMatchObject({
        message: 'No text returned from transcription',
        reason: 'no_text',
        status: 200,
        operation: 'speech-to-text',
      });
    });

    it.each(ERROR_SHAPES)('reports an error answer with %s by its message', async (_case, reply, message) => {
      fake.enqueue(SPEECH_TO_TEXT, reply);
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTranscriptionError);
      expect(error).toMatchObject({ message, status: reply.status, reason: 'rejected', operation: 'speech-to-text' });
    });

    it('gets ElevenLabs’ 401 for a wrong key, and logs neither key', async () => {
      const error = await speechToText({ apiKey: 'wrong-key-0000' }).transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTranscriptionError);
      expect(error).toMatchObject({ message: 'Invalid API key', status: 401 });
      expect(logged).toEqual([
        expect.stringMatching(
          /^warn ElevenLabs POST \/v1\/speech-to-text → 401 in \d+ ms: ElevenLabsTranscriptionError: Invalid API key; response body: \{"detail":\{"status":"invalid_api_key","message":"Invalid API key"\}\}$/,
        ),
      ]);
      expect(logText()).not.toContain('wrong-key-0000');
      expect(logText()).not.toContain(API_KEY);
    });

    it('logs at most 500 characters of an error body', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { status: 500, body: `${'e'.repeat(600)}TAIL` });
      await speechToText().transcribe({ audio: AUDIO }).catch(() => undefined);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(`response body: ${'e'.repeat(500)}…`);
      expect(logged[0]).not.toContain('TAIL');
    });

    it('cuts the message of a huge error answer to 500 characters, in the error and in the log', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { status: 429, body: { detail: { status: 'too_many_concurrent_requests', message: `${'m'.repeat(3_000_000)}TAIL` } } });
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toMatchObject({ message: `${'m'.repeat(500)}…`, status: 429 });
      expect(logged).toHaveLength(1);
      expect(logged[0].length).toBeLessThan(1_500);
      expect(logText()).not.toContain('TAIL');
    });

    it('takes the API key out of an error answer that echoes it, in the error and in the log', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { status: 400, body: { detail: `bad request: headers were xi-api-key=${API_KEY}` } });
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toMatchObject({ message: 'bad request: headers were xi-api-key=[ElevenLabs API key]', status: 400 });
      expect(logText()).not.toContain(API_KEY);
    });

    it('rejects a 2xx answer that is not JSON as an invalid response', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { body: '<html>maintenance</html>' });
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsInvalidResponseError);
      expect(error.message).toMatch(/^Failed to parse response: /);
      expect(error).toMatchObject({ status: 200, reason: 'invalid_response' });
    });

    it('refuses empty audio and audio over the upload limit without sending anything', async () => {
      const client = speechToText({}, { maxUploadBytes: 16 });
      await expect(client.transcribe({ audio: Buffer.alloc(0) })).rejects.toThrow(
        new ElevenLabsInputError('speech-to-text', 'Audio is empty'),
      );
      const error = await client.transcribe({ audio: Buffer.alloc(17) }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsInputError);
      expect(error).toMatchObject({
        message: 'Audio is too large to transcribe: 17 bytes (at most 16)',
        reason: 'invalid_input',
      });
      await expect(client.transcribe({ audio: Buffer.alloc(16, 1) })).resolves.toBe(
        'transcript of audio.ogg (16 bytes)',
      );
      expect(fake.requests).toHaveLength(1);
    });

    it('says it is not configured without a key, and refuses to call', async () => {
      const client = speechToText({ apiKey: undefined });
      expect(client.isConfigured).toBe(false);
      expect(speechToText({ apiKey: '  ' }).isConfigured).toBe(false);
      expect(speechToText().isConfigured).toBe(true);
      const error = await client.transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsNotConfiguredError);
      expect(error).toMatchObject({ message: 'ElevenLabs API key is not configured', reason: 'not_configured' });
      expect(fake.requests).toHaveLength(0);
    });

    it('gives up after the timeout with a timeout error', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { delayMs: 60_000, body: { text: 'late' } });
      const error = await speechToText({ timeoutMs: 200 }).transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTimeoutError);
      expect(error).toMatchObject({
        message: 'Request to ElevenLabs timed out: no answer within 200 ms',
        timeoutMs: 200,
        reason: 'timeout',
      });
      expect(logged).toEqual([
        expect.stringMatching(
          /^warn ElevenLabs POST \/v1\/speech-to-text failed after \d+ ms: ElevenLabsTimeoutError: Request to ElevenLabs timed out: no answer within 200 ms$/,
        ),
      ]);
    });

    it('reports a dropped connection as a connection error and does not send again', async () => {
      fake.enqueue(SPEECH_TO_TEXT, { drop: true });
      const error = await speechToText().transcribe({ audio: AUDIO }).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsConnectionError);
      expect(error).toMatchObject({ message: 'Failed to connect to ElevenLabs: socket hang up', code: 'ECONNRESET' });
      expect(fake.requests).toHaveLength(1);
    });

    it('reports a refused connection as a connection error with its code', async () => {
      const port = CLOSED_PORT;
      const error = await speechToText({ baseUrl: `http://127.0.0.1:${port}` })
        .transcribe({ audio: AUDIO })
        .catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsConnectionError);
      expect(error).toMatchObject({
        message: `Failed to connect to ElevenLabs: connect ECONNREFUSED 127.0.0.1:${port}`,
        code: 'ECONNREFUSED',
        reason: 'connection',
      });
    });
  });

  describe('text to speech', () => {
    const route = textToSpeechRoute(VOICE);

    it('posts the text as JSON with Accept: audio/mpeg and returns the audio bytes', async () => {
      const audio = await textToSpeech().synthesize('Hello from the assistant');
      expect(audio).toEqual(fakeSpeech(VOICE, 'eleven_turbo_v2_5', 'Hello from the assistant'));
      const [sent] = fake.requests;
      expect(`${sent.method} ${sent.path}`).toBe(route);
      expect(sent.query).toEqual({ output_format: 'mp3_44100_128' });
      expect(sent.headers).toMatchObject({
        'xi-api-key': API_KEY,
        accept: 'audio/mpeg',
        'content-type': 'application/json',
        connection: 'keep-alive',
      });
      expect(sent.body).toEqual({
        text: 'Hello from the assistant',
        model_id: 'eleven_turbo_v2_5',
        output_format: 'mp3_44100_128',
      });
      expect(logged).toEqual([
        expect.stringMatching(
          /^log ElevenLabs POST \/v1\/text-to-speech\/voice-123\?output_format=mp3_44100_128 → 200 in \d+ ms \(sent \d+ bytes, received \d+ bytes\)$/,
        ),
      ]);
      expect(logText()).not.toContain(API_KEY);
      expect(logText()).not.toContain('Hello from the assistant');
    });

    it('sends voice settings when given', async () => {
      const voiceSettings = { stability: 0.4, similarity_boost: 0.8, use_speaker_boost: true };
      await textToSpeech().synthesize('hi', { voiceSettings });
      expect(fake.requests[0].body).toEqual({
        text: 'hi',
        model_id: 'eleven_turbo_v2_5',
        output_format: 'mp3_44100_128',
        voice_settings: voiceSettings,
      });
    });

    it.each(['', '   \n'])('refuses the blank text %p without sending anything', async (text) => {
      const error = await textToSpeech().synthesize(text).catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsInputError);
      expect(error).toMatchObject({ message: 'Text is required', reason: 'invalid_input', operation: 'text-to-speech' });
      expect(fake.requests).toHaveLength(0);
    });

    it('says it is not configured without a voice, and refuses to call', async () => {
      const client = textToSpeech({}, { voiceId: ' ' });
      expect(client.isConfigured).toBe(false);
      const error = await client.synthesize('hi').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsNotConfiguredError);
      expect(error.message).toBe('ElevenLabs voice_id is not configured');
      expect(fake.requests).toHaveLength(0);
    });

    it('says it is not configured without a key, and refuses to call', async () => {
      const client = textToSpeech({ apiKey: undefined });
      expect(client.isConfigured).toBe(false);
      expect(textToSpeech().isConfigured).toBe(true);
      await expect(client.synthesize('hi')).rejects.toThrow(
        new ElevenLabsNotConfiguredError('text-to-speech', 'ElevenLabs API key is not configured'),
      );
      expect(fake.requests).toHaveLength(0);
    });

    it.each(ERROR_SHAPES)('reports an error answer with %s by its message', async (_case, reply, message) => {
      fake.enqueue(route, reply);
      const error = await textToSpeech().synthesize('hi').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsSynthesisError);
      expect(error).toMatchObject({ message, status: reply.status, reason: 'rejected', operation: 'text-to-speech' });
    });

    it('rejects a 2xx answer that is JSON instead of audio, or empty', async () => {
      fake.enqueue(route, { body: { detail: 'not audio' } }, { body: Buffer.alloc(0), headers: { 'Content-Type': 'audio/mpeg' } });
      const client = textToSpeech();
      const notAudio = await client.synthesize('hi').catch((caught) => caught);
      expect(notAudio).toBeInstanceOf(ElevenLabsInvalidResponseError);
      expect(notAudio).toMatchObject({ message: 'Expected audio from ElevenLabs, got application/json', status: 200 });
      const empty = await client.synthesize('hi').catch((caught) => caught);
      expect(empty).toBeInstanceOf(ElevenLabsInvalidResponseError);
      expect(empty.message).toBe('ElevenLabs returned no audio');
    });

    it.each([
      ['announced by Content-Length', {}],
      ['streamed in chunks', { 'Transfer-Encoding': 'chunked' }],
    ])('stops reading audio larger than the limit (%s)', async (_case, headers) => {
      fake.enqueue(route, { body: Buffer.alloc(2048, 7), headers: { 'Content-Type': 'audio/mpeg', ...headers } });
      const client = textToSpeech({}, { maxAudioBytes: 1024 });
      const error = await client.synthesize('a long story').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsInvalidResponseError);
      expect(error).toMatchObject({ message: 'ElevenLabs answer is larger than 1024 bytes', status: 200 });
      await expect(client.synthesize('short')).resolves.toEqual(fakeSpeech(VOICE, 'eleven_turbo_v2_5', 'short'));
    });

    it('gives up after the timeout with a timeout error', async () => {
      fake.enqueue(route, { delayMs: 60_000, body: Buffer.from('late') });
      const error = await textToSpeech({ timeoutMs: 200 }).synthesize('hi').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsTimeoutError);
      expect(error).toMatchObject({
        message: 'Request to ElevenLabs timed out: no answer within 200 ms',
        operation: 'text-to-speech',
      });
    });

    it('reports a dropped connection as a connection error', async () => {
      fake.enqueue(route, { drop: true });
      const error = await textToSpeech().synthesize('hi').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsConnectionError);
      expect(error.code).toBe('ECONNRESET');
    });

    it('reports a refused connection as a connection error', async () => {
      const port = CLOSED_PORT;
      const error = await textToSpeech({ baseUrl: `http://127.0.0.1:${port}` }).synthesize('hi').catch((caught) => caught);
      expect(error).toBeInstanceOf(ElevenLabsConnectionError);
      expect(error.code).toBe('ECONNREFUSED');
    });
  });

  it('shares one keep-alive connection between both services', async () => {
    const shared = transport();
    const stt = new HttpSpeechToText(shared, { modelId: 'scribe_v1' });
    const tts = new HttpTextToSpeech(shared, { modelId: 'eleven_turbo_v2_5', voiceId: VOICE });
    await stt.transcribe({ audio: AUDIO });
    await tts.synthesize('one');
    await stt.transcribe({ audio: AUDIO });
    await tts.synthesize('two');
    expect(fake.requests).toHaveLength(4);
    expect(fake.connectionCount).toBe(1);
  });

  it('sends a request again on a new connection when a reused one turns out closed', async () => {
    const stt = speechToText();
    await stt.transcribe({ audio: AUDIO });
    fake.enqueue(SPEECH_TO_TEXT, { drop: true });
    await expect(stt.transcribe({ audio: AUDIO, filename: 'second.oga' })).resolves.toBe(
      `transcript of second.oga (${AUDIO.length} bytes)`,
    );
    expect(fake.requests.map((sent) => sent.socket)).toEqual([1, 1, 2]);
    expect(fake.requests.slice(1).map((sent) => multipartOf(sent).files.file.filename)).toEqual([
      'second.oga',
      'second.oga',
    ]);
  });
});
