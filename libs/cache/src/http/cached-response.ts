import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StreamableFile } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LookupStatus } from '../namespace-cache';
import type { CacheScope } from './http-cache.metadata';
import { markNotModified } from './not-modified';
import { normalizedQuery, principalOf, queryPairsOf } from './principal';

/**
 * What a cached route stores: the body serialized once, as the platform would have sent it, so a
 * hit sends stored bytes instead of serializing again; its entity tag; and what else of the answer
 * the route made itself, so a hit is the answer the route would have sent.
 */
export interface CachedResponse {
  /** JSON, a string the handler returned (sent as text), or bytes it returned (sent as they are). */
  payload: string | Buffer;
  /** Whether the payload is JSON (sent as `application/json` unless the route set its own type). */
  json: boolean;
  etag: string;
  /** The route's status when not 200 (`@HttpCode`, `reply.code()` in the handler). */
  status?: number;
  /** Headers the handler set on the reply itself (`reply.header()`); `@Header()` ones Nest sets on every answer. */
  headers?: Record<string, string | string[]>;
}

export type XCache = LookupStatus | 'BYPASS';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** What a principal-scoped route's answers say, from the cache or not: for the caller's own cache only, revalidated. */
export const PRIVATE_CACHE_CONTROL = 'private, no-cache';

type CacheableRequest = Pick<FastifyRequest, 'method' | 'url' | 'headers'> & { query?: unknown; user?: unknown };

/**
 * GET and HEAD of a path may be answered from the cache, unless the client asked for `Cache-Control:
 * no-store`. A request target that is not a path — the absolute form a client sends a proxy (`GET
 * http://host/…`) — is not: how the router reads one (`http://evil.example?a=/cursor-runner/…` was routed
 * by the path in its query) is not how a key could, and only proxies are sent them.
 */
export function mayUseCache(request: CacheableRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (request.url.charCodeAt(0) !== 47) return false;
  const cacheControl = request.headers['cache-control'];
  return cacheControl === undefined || !/\bno-store\b/i.test(String(cacheControl));
}

const ESCAPE = /%[0-9A-Fa-f]{2}/g;

/** RFC 3986's unreserved characters: letters, digits, `-`, `.`, `_`, `~`. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The path as every spelling of it names one resource (RFC 3986 6.2.2): escapes of unreserved
 * characters decoded (`rep%6f1` is `repo1`, as the router reads it) and the others written in upper
 * case. `%2F`, `%25` and the like stay escaped: decoded, they would be another path. Otherwise one
 * resource had an entry per spelling, and invalidating one left the rest.
 */
function canonicalPath(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(ESCAPE, (escape) => {
    const character = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
    return UNRESERVED.test(character) ? character : escape.toUpperCase();
  });
}

/**
 * The key parts of a route entry: the method (HEAD shares GET's entry), the `@CacheKey` or the
 * canonical path with the query as the route reads it, sorted by name, credential values digested,
 * and the scope.
 */
export function routeEntryKey(request: CacheableRequest, explicitKey: string | undefined, scope: CacheScope): string[] {
  const queryStart = request.url.indexOf('?');
  // The hot path of every hit: a public route without a query string parses nothing.
  if (queryStart === -1 && scope === 'public') return ['GET', explicitKey ?? `${canonicalPath(request.url)}?`, 'public'];
  const query = queryStart === -1 ? [] : queryPairsOf(request, queryStart);
  return [
    'GET',
    explicitKey ?? `${canonicalPath(queryStart === -1 ? request.url : request.url.slice(0, queryStart))}?${normalizedQuery(query)}`,
    scope === 'public' ? 'public' : `principal=${principalOf(request, query)}`,
  ];
}

/** Sets the headers of a cached answer (304 when `If-None-Match` matches) and returns the body to send. */
export function prepareCachedReply(
  request: CacheableRequest,
  reply: FastifyReply,
  cached: CachedResponse,
  status: XCache,
  scope: CacheScope,
): string | Buffer {
  if (cached.status !== undefined) reply.code(cached.status);
  if (cached.headers !== undefined) reply.headers(cached.headers);
  // Names in lower case, as Fastify stores and sends them (it lowercases every name it is given).
  reply.header('x-cache', status);
  reply.header('etag', cached.etag);
  if (!reply.hasHeader('cache-control')) {
    reply.header('cache-control', scope === 'public' ? 'public, no-cache' : PRIVATE_CACHE_CONTROL);
  }
  if (cached.json && cached.headers?.['content-type'] === undefined) reply.header('content-type', JSON_CONTENT_TYPE);
  if (matchesIfNoneMatch(request.headers['if-none-match'], cached.etag)) markNotModified(reply);
  return cached.payload;
}

/** Whether the handler's answer may be stored: 2xx, not a stream, no cookie set. */
export function isStorable(body: unknown, reply: FastifyReply): boolean {
  if (body === undefined) return false;
  if (body instanceof StreamableFile || body instanceof Readable) return false;
  if (reply.statusCode < 200 || reply.statusCode > 299) return false;
  return !reply.hasHeader('set-cookie');
}

/** The body as the platform sends it, with a weak validator: equal bodies, equal tags, on every instance. */
export function serialize(body: unknown): CachedResponse {
  const json = typeof body !== 'string' && !Buffer.isBuffer(body);
  const payload = json ? JSON.stringify(body) : (body as string | Buffer);
  return { payload, json, etag: `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"` };
}

/** Headers of an answer that belong to the platform or to the cache, never the route's to replay. */
const NOT_THE_ROUTES = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'x-cache', 'etag']);

/** The names of the headers `reply` holds now: taken before the handler runs, to tell which it set. */
export function headerNamesOf(reply: FastifyReply): Set<string> {
  return new Set(Object.keys(reply.getHeaders()));
}

/**
 * What a route's answer stores: its body serialized, its status when not 200, and the headers its
 * handler set — those `reply` holds now that were not in `namesBefore`.
 */
export function storedResponse(body: unknown, reply: FastifyReply, namesBefore: ReadonlySet<string>): CachedResponse {
  const stored = serialize(body);
  if (reply.statusCode !== 200) stored.status = reply.statusCode;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined || namesBefore.has(name) || NOT_THE_ROUTES.has(name)) continue;
    (stored.headers ??= {})[name] = typeof value === 'number' ? String(value) : value;
  }
  return stored;
}

function matchesIfNoneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const candidates = (Array.isArray(header) ? header.join(',') : header).split(',').map((tag) => tag.trim());
  const opaque = etag.replace(/^W\//, '');
  return candidates.some((candidate) => candidate === '*' || candidate.replace(/^W\//, '') === opaque);
}
