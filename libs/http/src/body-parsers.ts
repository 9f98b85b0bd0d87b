import { isUtf8 } from 'node:buffer';
import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { parse as parseForm } from 'fast-querystring';
import { errorBody } from './error-body';
import { JSON_MAX_DEPTH, jsonNestingExceeds } from './json-depth';

/**
 * The request body parsers, in place of Nest's defaults: JSON through Fastify's own parser
 * (prototype-poisoning keys refused) after a depth check, so a body nested thousands of levels deep
 * is a 400 naming the limit instead of a stack overflow in whatever walks it later; form bodies as
 * Nest parses them. The depth check is a content-type parser rather than a `secure-json-parse`
 * option because that library has no depth limit, and `JSON.parse` itself copes with deep input:
 * it is everything after it that recurses.
 */
export function installBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  const parseJson = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    const unreadable = unreadableBody(request, body);
    if (unreadable) return done(unreadable, undefined);
    if (jsonNestingExceeds(body, JSON_MAX_DEPTH)) {
      return done(badRequest(`Request body is nested too deeply: the limit is ${JSON_MAX_DEPTH} levels of objects and arrays.`), undefined);
    }
    const text = body.toString('utf8');
    // eslint-disable-next-line @typescript-eslint/no-floating-promises -- Fastify's parser reports every outcome through done()
    parseJson(request as FastifyRequest, text, (error, value) =>
      error && isJson(text) ? done(badRequest(PROTOTYPE_KEY_SAY), undefined) : done(error, value),
    );
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit }, (request, body, done) => {
    const unreadable = unreadableBody(request, body);
    if (unreadable) return done(unreadable, undefined);
    done(null, parseForm(body.toString('utf8')));
  });
}

/**
 * Fastify's parser refuses a `__proto__` key, or `constructor` holding `prototype` (prototype
 * poisoning), with the words it uses for broken JSON; a body `JSON.parse` reads was refused for that.
 */
const PROTOTYPE_KEY_SAY = 'Request body has a "__proto__" key or a "constructor" key holding "prototype", which are refused (prototype poisoning).';

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a body cannot be read as text, if it cannot: compressed (`Content-Encoding`), a charset other
 * than UTF-8 named, or bytes that are not UTF-8 (Latin-1 sent without a charset). A compressed body
 * was refused as "not valid UTF-8"; the others would be decoded with U+FFFD in place of what was
 * sent, and stored or forwarded so.
 */
function unreadableBody(request: { headers: { 'content-type'?: string; 'content-encoding'?: string } }, body: Buffer): Error | undefined {
  // A list when the header came more than once (Node joins them with commas): `identity` alone is no encoding.
  const encoding = request.headers['content-encoding'];
  if (encoding?.split(',').some((coding) => !['', 'identity'].includes(coding.trim().toLowerCase()))) return unsupportedEncoding(encoding.trim());
  const foreign = foreignCharsetOf(request.headers['content-type']);
  if (foreign !== undefined) return unreadableCharset(foreign);
  if (!isUtf8(body)) return badRequest('Request body is not valid UTF-8; bodies are read as UTF-8 only.');
  return undefined;
}

/** A 400 saying why, with Fastify's `statusCode` too: routes outside Nest (Bull Board's) answer with their own error handler, which reads it. */
function badRequest(say: string): BadRequestException {
  const error = new BadRequestException(errorBody(say, 'Bad Request'));
  return Object.assign(error, { statusCode: error.getStatus() });
}

/** Charsets a body is read in: UTF-8, and ASCII, which is part of it. */
const READ_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/**
 * A media type's parameters, in order: `; name=value`, the value a token or a quoted string (whose
 * `;` and `=` belong to it), and anything else between semicolons skipped (`application/json;` is common).
 */
const PARAMETER = /;\s*([^\s;="]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))|;[^;"]*/g;

/** The charsets `contentType` names, unquoted, empty ones left out. */
function charsetsOf(contentType: string): string[] {
  const charsets: string[] = [];
  for (const [, name, quoted, plain] of contentType.matchAll(PARAMETER)) {
    if (name?.toLowerCase() !== 'charset') continue;
    const value = (quoted === undefined ? plain : quoted.replace(/\\(.)/g, '$1')).trim();
    if (value !== '') charsets.push(value);
  }
  return charsets;
}

/** A charset `contentType` names that the body is not read in (with two, either one). */
function foreignCharsetOf(contentType: string | undefined): string | undefined {
  return charsetsOf(contentType ?? '').find((charset) => !READ_CHARSETS.has(charset.toLowerCase()));
}

/** A compressed body: 415 naming its encoding (RFC 9110, section 15.5.16). */
function unsupportedEncoding(encoding: string): UnsupportedMediaTypeException {
  return unsupportedMediaType(`Request bodies are read uncompressed only; send this one without Content-Encoding: ${encoding.slice(0, 40)}.`);
}

/**
 * A body in another charset (`charset=utf-16`, `iso-8859-1`) is refused rather than read as UTF-8,
 * which turned its non-ASCII characters into U+FFFD and stored them so: a 415 naming it.
 */
function unreadableCharset(charset: string): UnsupportedMediaTypeException {
  return unsupportedMediaType(`Request bodies are read as UTF-8 only; send this one in UTF-8 instead of charset=${charset.slice(0, 40)}.`);
}

/** A 415 saying why, with Fastify's `statusCode` too, as {@link badRequest}. */
function unsupportedMediaType(say: string): UnsupportedMediaTypeException {
  const error = new UnsupportedMediaTypeException(errorBody(say, 'Unsupported Media Type'));
  return Object.assign(error, { statusCode: error.getStatus() });
}
