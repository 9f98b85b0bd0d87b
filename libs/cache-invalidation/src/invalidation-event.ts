import { z } from 'zod';

/** The one event version this code writes and accepts; anything else on the channel is rejected. */
export const INVALIDATION_EVENT_VERSION = 1;

/** Most keys or tags one event may carry; a request larger than this is refused before it runs. */
export const MAX_SELECTORS_PER_EVENT = 10_000;

const NAMESPACE = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);
const SELECTOR = z.string().min(1).max(1_024);

/**
 * What one namespace loses: keys are local to the namespace (the part after
 * `<prefix>:<schemaVersion>:<namespace>:`), so instances on two schema versions during a rolling
 * deploy drop the same logical entries.
 */
const targetSchema = z.strictObject({
  namespace: NAMESPACE,
  keys: z.array(SELECTOR).max(MAX_SELECTORS_PER_EVENT).optional(),
  tags: z.array(SELECTOR).max(MAX_SELECTORS_PER_EVENT).optional(),
  all: z.literal(true).optional(),
});

/**
 * An invalidation announced on the bus. It names entries, never their values; `app` is the cache
 * key prefix, so two apps sharing one Redis never act on each other's events.
 */
export const invalidationEventSchema = z.strictObject({
  v: z.literal(INVALIDATION_EVENT_VERSION),
  id: z.uuid(),
  origin: z.string().min(1).max(200),
  app: z.string().min(1).max(32),
  sentAt: z.number().int().nonnegative(),
  targets: z.array(targetSchema).min(1).max(1_000),
});

export type InvalidationEvent = z.infer<typeof invalidationEventSchema>;
export type InvalidationTarget = z.infer<typeof targetSchema>;

export type ParsedEvent = { ok: true; event: InvalidationEvent } | { ok: false; reason: string };

/** Parses one channel message; never throws. The reason names the first problem, without the payload. */
export function parseInvalidationEvent(message: string): ParsedEvent {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = invalidationEventSchema.safeParse(json);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${issue.path.join('.') || 'event'}: ${issue.message}` };
}
