import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import pino, { type Level, type Logger } from 'pino';
import type { AppConfig } from '@app/config';
import { accessLineWriter } from './access-log';
import { createAppLogger } from './app-logger';
import { redactUrl } from './redaction';

/** Collects what a logger writes, a line per entry. */
class Lines extends Writable {
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }
}

/** The app's own logger (app-logger.ts), as production configures it, over `destination`. */
function appLogger(destination: Lines): Logger {
  const config = { env: 'production', logLevel: 'info', app: { name: 'Virtual Assistant API' } } as unknown as AppConfig;
  return createAppLogger(config, { destination });
}

interface Answered {
  url: string;
  method?: string;
  id?: string;
  ip?: string;
  statusCode?: number;
  elapsedMs?: number;
}

/**
 * A request, its answer's status and duration as the hook sees them; `id` and `ip` may be given as
 * undefined (a client already gone).
 */
function exchange(answered: Answered): { request: FastifyRequest; statusCode: number; elapsedMs: number } {
  const request = {
    url: answered.url,
    method: answered.method ?? 'GET',
    id: 'id' in answered ? answered.id : 'abc-1',
    ip: 'ip' in answered ? answered.ip : '127.0.0.1',
  };
  return { request: request as unknown as FastifyRequest, statusCode: answered.statusCode ?? 200, elapsedMs: answered.elapsedMs ?? 1.4 };
}

/** The line pino's own serializer writes for the same request, with the redaction the access log applies. */
function pinoLine(logger: Logger, level: Level, answered: Answered, redactedPath: string): void {
  const { request, statusCode, elapsedMs } = exchange(answered);
  const durationMs = Math.round(elapsedMs);
  logger[level](
    {
      req: { id: request.id, method: request.method, path: redactedPath, remoteAddress: request.ip },
      res: { statusCode },
      durationMs,
    },
    `${request.method} ${redactedPath} ${statusCode} ${durationMs}ms`,
  );
}

const withoutTime = (line: string) => line.replace(/,"time":\d+/, '');

describe('accessLineWriter', () => {
  const cases: [string, Level, Answered, string][] = [
    ['a plain path', 'info', { url: '/bench/trivial' }, '/bench/trivial'],
    ['a redacted credential', 'warn', { url: '/telegram/set_webhook?secret_token=abc&x=1', statusCode: 401 }, '/telegram/set_webhook?secret_token=%5BRedacted%5D&x=1'],
    ['quotes, backslashes and control characters', 'info', { url: '/a"b\\c\u0001\td' }, '/a"b\\c\u0001\td'],
    ['non-ASCII and line separators', 'error', { url: '/ünï/\u2028\u2029/😀', statusCode: 503, elapsedMs: 12.6 }, '/ünï/\u2028\u2029/😀'],
    ['a caller-chosen id and an IPv6 peer', 'info', { url: '/x', id: 'caller.id:42@host', ip: '::ffff:10.0.0.1', method: 'PATCH' }, '/x'],
    ['a long path', 'info', { url: `/${'p'.repeat(5000)}` }, `/${'p'.repeat(5000)}`],
    ['a client gone before the answer ended (no remote address)', 'info', { url: '/docs-json', ip: undefined, elapsedMs: 239 }, '/docs-json'],
    ['no request id', 'info', { url: '/x', id: undefined }, '/x'],
  ];

  it.each(cases)('writes what pino writes for the same fields: %s', (_name, level, answered, redactedPath) => {
    const ours = new Lines();
    const theirs = new Lines();
    const { request, statusCode, elapsedMs } = exchange(answered);
    accessLineWriter(appLogger(ours))(level, request, statusCode, elapsedMs);
    pinoLine(appLogger(theirs), level, answered, redactedPath);

    expect(ours.raw).toHaveLength(1);
    expect(withoutTime(ours.raw[0])).toBe(withoutTime(theirs.raw[0]));
    const parsed = JSON.parse(ours.raw[0]) as { time: number; req: { path: string }; level: number };
    expect(parsed.req.path).toBe(redactedPath);
    expect(Math.abs(parsed.time - Date.now())).toBeLessThan(5_000);
  });

  it('writes what pino writes for any method, path, request id and address (property)', () => {
    // Strings of every kind: any Unicode code point, control characters, quotes and backslashes (a lone surrogate below).
    const anyText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\u0000', '\n', '\u2028', '😀', 'é', 'a') }));
    fc.assert(
      fc.property(
        fc.record({ url: anyText.map((text) => `/${text}`), method: anyText, id: fc.option(anyText, { nil: undefined }), ip: fc.option(anyText, { nil: undefined }) }),
        fc.constantFrom<Level>('info', 'warn', 'error'),
        (answered, level) => {
          const ours = new Lines();
          const theirs = new Lines();
          const { request, statusCode, elapsedMs } = exchange(answered);
          accessLineWriter(appLogger(ours))(level, request, statusCode, elapsedMs);
          pinoLine(appLogger(theirs), level, answered, redactUrl(answered.url));

          expect(withoutTime(ours.raw.join('\n'))).toBe(withoutTime(theirs.raw.join('\n')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes what pino writes for every line of a writer kept across requests, values repeating or not (property)', () => {
    // Few distinct values, so that a value often equals the one of the line before: the writer keeps
    // the pieces made for the last level, method, address and status for the next line.
    const fewTexts = (...texts: string[]) => fc.constantFrom(...texts);
    const answeredInTurn = fc.record({
      url: fewTexts('/a', '/b?x=1', '/"q"'),
      method: fewTexts('GET', 'POST', 'GE"T', 'GET'),
      id: fc.option(fewTexts('id-1', 'id\n2'), { nil: undefined }),
      ip: fc.option(fewTexts('127.0.0.1', '::1', '10.0.0."1', '127.0.0.1'), { nil: undefined }),
      statusCode: fc.constantFrom(200, 404, 503),
      level: fc.constantFrom<Level>('info', 'info', 'warn', 'error'),
    });
    fc.assert(
      fc.property(fc.array(answeredInTurn, { minLength: 1, maxLength: 12 }), (sequence) => {
        const ours = new Lines();
        const theirs = new Lines();
        const write = accessLineWriter(appLogger(ours));
        const theirLogger = appLogger(theirs);
        for (const { level, ...answered } of sequence) {
          const { request, statusCode, elapsedMs } = exchange(answered);
          write(level, request, statusCode, elapsedMs);
          pinoLine(theirLogger, level, answered, redactUrl(answered.url));
        }

        expect(ours.raw.map(withoutTime)).toEqual(theirs.raw.map(withoutTime));
      }),
      { numRuns: 300 },
    );
  });

  it('writes the time of each line, lines in one millisecond sharing it', () => {
    jest.useFakeTimers({ now: 1_764_700_000_000 });
    try {
      const ours = new Lines();
      const write = accessLineWriter(appLogger(ours));
      const { request, statusCode, elapsedMs } = exchange({ url: '/x' });
      const times: number[] = [];
      for (const step of [0, 0, 1, 0, 999, 1]) {
        jest.advanceTimersByTime(step);
        write('info', request, statusCode, elapsedMs);
        times.push(Date.now());
      }

      expect(ours.raw.map((line) => (JSON.parse(line) as { time: number }).time)).toEqual(times);
      expect(new Set(times).size).toBe(4);
    } finally {
      jest.useRealTimers();
    }
  });

  it('escapes a lone surrogate in the message too, where pino would write it raw (and the reader get U+FFFD)', () => {
    const ours = new Lines();
    const { request, statusCode, elapsedMs } = exchange({ url: '/a\ud800b', id: 'x\udfff' });
    accessLineWriter(appLogger(ours))('info', request, statusCode, elapsedMs);

    expect(ours.raw[0]).toContain('"path":"/a\\ud800b"');
    expect(ours.raw[0]).toContain('"msg":"GET /a\\ud800b 200 1ms"');
    expect(JSON.parse(ours.raw[0])).toMatchObject({ req: { id: 'x\udfff', path: '/a\ud800b' }, msg: 'GET /a\ud800b 200 1ms' });
  });

  it("follows the logger's own format: its bindings as they are now, message key and time", () => {
    const ours = new Lines();
    const theirs = new Lines();
    const settings = { level: 'info', base: { pod: 'api-7' }, messageKey: 'message', timestamp: pino.stdTimeFunctions.isoTime };
    const answered: Answered = { url: '/settings', statusCode: 404 };
    const { request, statusCode, elapsedMs } = exchange(answered);
    const ourLogger = pino(settings, ours).child({ component: 'http' });
    const theirLogger = pino(settings, theirs).child({ component: 'http' });
    const write = accessLineWriter(ourLogger);
    write('warn', request, statusCode, elapsedMs);
    pinoLine(theirLogger, 'warn', answered, '/settings');
    ourLogger.setBindings({ component: 'http-after-boot' });
    theirLogger.setBindings({ component: 'http-after-boot' });
    write('warn', request, statusCode, elapsedMs);
    pinoLine(theirLogger, 'warn', answered, '/settings');

    const strip = (line: string) => line.replace(/,"time":"[^"]+"/, '');
    expect(ours.raw.map(strip)).toEqual(theirs.raw.map(strip));
    expect(JSON.parse(ours.raw[0])).toMatchObject({ component: 'http' });
    expect(JSON.parse(ours.raw[1])).toMatchObject({ level: 40, pod: 'api-7', component: 'http-after-boot', message: 'GET /settings 404 1ms' });
  });
});
