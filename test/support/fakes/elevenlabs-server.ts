import { FakeHttpServer, type FakeReply, type RecordedRequest } from './fake-http-server';
import { multipartOf, type ReceivedFile } from './multipart';

export { multipartOf };

export const SPEECH_TO_TEXT = 'POST /v1/speech-to-text';

/** The route of text-to-speech with `voiceId`, as `enqueue` and `requestsTo` name it. */
export function textToSpeechRoute(voiceId: string): string {
  return `POST /v1/text-to-speech/${voiceId}`;
}

/** What the fake transcribes an upload to by default. */
export function fakeTranscript(file: ReceivedFile): string {
  return `transcript of ${file.filename} (${file.content.length} bytes)`;
}

/** The "MP3" the fake speaks: an ID3 tag followed by what was asked for, so a test can tell answers apart. */
export function fakeSpeech(voiceId: string, modelId: string, text: string): Buffer {
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00]), Buffer.from(`${voiceId}|${modelId}|${text}`)]);
}

export interface FakeElevenLabsOptions {
  /** The only `xi-api-key` accepted. */
  apiKey: string;
}

function missingField(field: string): FakeReply {
  return { status: 422, body: { detail: [{ loc: ['body', field], msg: 'Field required', type: 'missing' }] } };
}

/**
 * ElevenLabs' HTTP API as this service uses it (docs/elevenlabs.md): `POST /v1/speech-to-text`
 * (multipart `file` and `model_id`; answers `{language_code, language_probability, text, words}`)
 * and `POST /v1/text-to-speech/<voice_id>` (JSON `{text, model_id, …}`; answers `audio/mpeg`).
 * A wrong or missing `xi-api-key` gets ElevenLabs' 401 `{detail: {status, message}}`, a missing
 * field FastAPI's 422 `{detail: [{loc, msg, type}]}`, an unknown route 404 `{detail: "Not Found"}`.
 */
export function elevenLabsProtocol(options: FakeElevenLabsOptions) {
  return (request: RecordedRequest): FakeReply => {
    if (request.headers['xi-api-key'] !== options.apiKey) {
      return {
        status: 401,
        body: { detail: { status: 'invalid_api_key', message: 'Invalid API key' } },
      };
    }
    if (`${request.method} ${request.path}` === SPEECH_TO_TEXT) {
      const upload = multipartOf(request);
      if (!upload.fields.model_id) return missingField('model_id');
      const file = upload.files.file;
      if (!file) return missingField('file');
      return {
        body: { language_code: 'eng', language_probability: 0.98, text: fakeTranscript(file), words: [] },
      };
    }
    const voice = /^\/v1\/text-to-speech\/([^/]+)$/.exec(request.path)?.[1];
    if (request.method === 'POST' && voice) {
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as {
        text?: unknown;
        model_id?: unknown;
      };
      if (typeof body.text !== 'string' || body.text === '') return missingField('text');
      return {
        body: fakeSpeech(decodeURIComponent(voice), typeof body.model_id === 'string' ? body.model_id : '', body.text),
        headers: { 'Content-Type': 'audio/mpeg' },
      };
    }
    return { status: 404, body: { detail: 'Not Found' } };
  };
}

/** Starts a fake ElevenLabs on a free loopback port. */
export function startFakeElevenLabs(options: FakeElevenLabsOptions): Promise<FakeHttpServer> {
  return FakeHttpServer.start(elevenLabsProtocol(options));
}
