import type { Socket } from 'node:net';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { onRequestAnswered } from '@app/http/request-hooks';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { redactUrl } from './redaction';

/**
 * Probe routes, polled every few seconds: logging each answer would drown everything else. A
 * dependency's change of state is logged once by its health indicator instead.
 */
const PROBE_PATHS = new Set(['/health/live', '/health/ready']);
const PROBE_PREFIX = '/health/';

/** A probe's path, query or not. The prefix test spares other requests hashing their URL for the set. */
function isProbe(url: string): boolean {
  return url.startsWith(PROBE_PREFIX) && PROBE_PATHS.has(pathOf(url));
}

function levelOf(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

function pathOf(url: string): string {
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

const { chindingsSym, endSym, lsCacheSym, messageKeySym, streamSym, timeSym } = pino.symbols;

/** The parts of a pino logger's own line format that an access line is assembled from. */
interface LineFormat {
  levelPrefix: Record<number, string>;
  time: () => string;
  /** Read at each line: `setBindings` replaces them. */
  bindings: () => string;
  messageKey: string;
  end: string;
  stream: DestinationStream;
}

/**
 * pino's default time field, `,"time":<epoch milliseconds>`, made once per millisecond: `Date.now()`
 * is past V8's small integers, and turning it into digits took V8's slow path, about 1 k instructions
 * a line, while under load many lines share a millisecond (docs/benchmarks.md, "The access log").
 */
function epochTimeOncePerMillisecond(): () => string {
  let millisecond = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== millisecond) {
      millisecond = now;
      field = `,"time":${now}`;
    }
    return field;
  };
}

function lineFormatOf(logger: Logger): LineFormat {
  const internals = logger as unknown as Record<symbol, unknown>;
  const time = internals[timeSym] as () => string;
  return {
    levelPrefix: internals[lsCacheSym] as Record<number, string>,
    time: time === pino.stdTimeFunctions.epochTime ? epochTimeOncePerMillisecond() : time,
    bindings: () => internals[chindingsSym] as string,
    messageKey: internals[messageKeySym] as string,
    end: internals[endSym] as string,
    stream: internals[streamSym] as DestinationStream,
  };
}

/**
 * What `JSON.stringify` escapes in a string: control characters, the quote, the backslash and UTF-16
 * surrogates (a paired one is left to `JSON.stringify` too, which writes it as it is).
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPING = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * `value` as it goes between the quotes of a JSON string: itself when nothing in it needs escaping
 * (the usual method, path, request id and address), else what `JSON.stringify` writes for it. Checked
 * by a regular expression: a loop over `charCodeAt` cost about 0.6 k instructions more a line
 * (docs/benchmarks.md, "The access log").
 */
function jsonStringContent(value: string): string {
  return NEEDS_ESCAPING.test(value) ? JSON.stringify(value).slice(1, -1) : value;
}

const UNSEEN: unique symbol = Symbol('unseen');

/**
 * `pieceOf(value)`, kept for the next call with the same value: the method, the client's address and
 * the status repeat from line to line, and comparing a value with the last one costs less than making
 * its piece again (docs/benchmarks.md, "The access log").
 */
function lastValueMemo<Value, Piece>(pieceOf: (value: Value) => Piece): (value: Value) => Piece {
  let last: Value | typeof UNSEEN = UNSEEN;
  let lastPiece: Piece | undefined;
  return (value) => {
    if (value !== last) {
      last = value;
      lastPiece = pieceOf(value);
    }
    return lastPiece as Piece;
  };
}

/** Finds the address of the client a request came from, as the access line writes it. */
export type ClientAddressOf = (request: FastifyRequest) => string | undefined;

/** Fastify's `request.ip`, read for each request: what a server behind a trusted proxy needs, where each request names its client. */
const clientAddressOfRequest: ClientAddressOf = (request) => request.ip;

/**
 * The client's address, read once per connection. Without a trusted proxy Fastify's `request.ip` is
 * the socket's remote address, which a connection never changes; reading it through Node's socket
 * getters cost about 1 k instructions a line, megamorphic loads of the socket's handle
 * (docs/benchmarks.md, "The access log").
 */
function clientAddressPerConnection(): ClientAddressOf {
  const addresses = new WeakMap<Socket, string>();
  return (request) => {
    const socket = request.raw.socket;
    let address = addresses.get(socket);
    if (address === undefined) {
      address = request.ip;
      if (address !== undefined) addresses.set(socket, address);
    }
    return address;
  };
}

/**
 * Reads the connection's peer address as it opens. Node's socket keeps the address once read, also
 * after it closes, so a line written when the client has left — a 499, or an answer cut off while sent
 * — still names the client, on the connection's first request too. One read a connection, not a request.
 */
function keepPeerAddress(socket: Socket): void {
  void socket.remoteAddress;
}

/** The parts of a line that follow the method, one string each. */
interface MethodPieces {
  afterId: string;
  withoutId: string;
  inMessage: string;
}

/** The parts of a line that follow the status. */
interface StatusPieces {
  field: string;
  inMessage: string;
}

/**
 * Writes the access-log line of one answered request — method, path (credentials redacted), status,
 * duration, request id — the line `logger[level]({ req, res, durationMs }, message)` writes, assembled
 * from the logger's own level prefix, time, bindings and message key instead of by pino's general
 * serializer, which cost about three times as much (docs/benchmarks.md, "The access log"). A line is
 * added up from a dozen pieces, most of them kept from the line before: everything up to the request
 * id changes only with the level, the millisecond and the bindings, and the fields around the method,
 * the address and the status only with them. Each piece is a node of the string V8 builds and flattens
 * again when the turn's lines are joined, so fewer pieces cost less twice. It holds while the app's
 * logger has no serializers, `formatters.log`, mixin or hooks, which pino would apply and this skips;
 * access-log.spec.ts compares the two lines.
 */
export function accessLineWriter(
  logger: Logger,
  clientAddressOf: ClientAddressOf = clientAddressOfRequest,
): (level: Level, request: FastifyRequest, statusCode: number, elapsedMs: number) => void {
  const format = lineFormatOf(logger);
  const prefixes: Record<string, string> = {};
  for (const [level, value] of Object.entries(logger.levels.values)) prefixes[level] = format.levelPrefix[value];
  const messageStart = `,${JSON.stringify(format.messageKey)}:"`;
  const lineEnd = `ms"${format.end}`;

  let headLevel: Level | undefined;
  let headTime = '';
  let headBindings = '';
  let head = '';
  let headBeforeId = '';
  const methodPieces = lastValueMemo((method: string): MethodPieces => {
    const content = jsonStringContent(method);
    return {
      afterId: `","method":"${content}","path":"`,
      withoutId: `"method":"${content}","path":"`,
      inMessage: `${messageStart}${content} `,
    };
  });
  // pino leaves out a field whose value is undefined. The address is undefined when Node could not
  // read it as the connection opened (a client already gone then, {@link keepPeerAddress}).
  const addressPiece = lastValueMemo(
    (address: string | undefined) =>
      `"${typeof address === 'string' ? `,"remoteAddress":"${jsonStringContent(address)}"` : ''}},"res":{"statusCode":`,
  );
  const statusPieces = lastValueMemo((statusCode: number): StatusPieces => ({ field: `${statusCode}},"durationMs":`, inMessage: ` ${statusCode} ` }));

  return (level, request, statusCode, elapsedMs) => {
    const time = format.time();
    const bindings = format.bindings();
    if (level !== headLevel || time !== headTime || bindings !== headBindings) {
      headLevel = level;
      headTime = time;
      headBindings = bindings;
      head = `${prefixes[level]}${time}${bindings},"req":{`;
      headBeforeId = `${head}"id":"`;
    }
    const path = jsonStringContent(redactUrl(request.url));
    const method = methodPieces(request.method);
    const status = statusPieces(statusCode);
    const durationMs = String(Math.round(elapsedMs));
    const start = typeof request.id === 'string' ? headBeforeId + jsonStringContent(request.id) + method.afterId : head + method.withoutId;
    format.stream.write(
      start + path + addressPiece(clientAddressOf(request)) + status.field + durationMs + method.inMessage + path + status.inMessage + durationMs + lineEnd,
    );
  };
}

/**
 * One line per request, written once the answer is sent (`onResponse`, so answers sent from any
 * hook are logged too) or its connection closed before that, with status 499 when the client left
 * before the answer's status was sent (`onRequestAnswered`): `info` for 2xx/3xx, `warn` for 4xx,
 * `error` for 5xx, without a stack — an error's own line, if any, comes from where it was caught.
 * When the level is disabled the request costs one comparison: no child logger, no serialization, no
 * redaction. `logger` is resolved on first use, once the app exists, and so is where the client's
 * address comes from: Fastify gives a request `ips` only when the adapter trusts a proxy, and then
 * each request names its client (`X-Forwarded-For`); without one the connection does.
 */
export function installAccessLog(adapter: FastifyAdapter, logger: () => Logger): void {
  adapter.getInstance().server.on('connection', keepPeerAddress);
  let resolved: Logger | undefined;
  let writeLine: ReturnType<typeof accessLineWriter> | undefined;
  onRequestAnswered(adapter, (request, elapsedMs, statusCode) => {
    const log = (resolved ??= logger());
    const level = levelOf(statusCode);
    if (log.isLevelEnabled(level) && !isProbe(request.url)) {
      writeLine ??= accessLineWriter(log, request.ips === undefined ? clientAddressPerConnection() : clientAddressOfRequest);
      writeLine(level, request, statusCode, elapsedMs);
    }
  });
}
