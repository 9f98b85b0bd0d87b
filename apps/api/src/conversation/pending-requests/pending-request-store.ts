import { Logger } from '@nestjs/common';
import { isValidRequestId, REQUEST_ID_MAX_LENGTH } from '../../adapters/cursor-runner';

/** How long a pending request waits for its callback, in seconds (docs/cursor-runner.md, "Pending requests"). */
export const PENDING_REQUEST_TTL_SECONDS = 3600;

/** Longest accepted lifetime of a pending request, in seconds (one day). */
export const PENDING_REQUEST_MAX_TTL_SECONDS = 86_400;

/**
 * How long before a Telegram request's entry expires its deadline falls (half its lifetime when that
 * is shorter): the sweep that tells the chat no result came must still find the entry to know where
 * to write, also when a sweep that took the deadline died and another takes it again a lease later,
 * and a result that comes after the notice is still delivered (docs/cursor-runner.md, "Pending requests").
 */
export const DEADLINE_LEAD_MS = 5 * 60_000;

/** A Telegram message forwarded to cursor-runner, kept until its result comes back. */
export interface PendingRequest {
  chatId: number;
  messageId: number;
  /** The text sent to cursor-runner (the transcript when the message was audio). */
  prompt: string;
  /** The user spoke: answer with voice when allowed. */
  originalWasAudio: boolean;
  /** When it was forwarded, ISO-8601. */
  createdAt: string;
  /**
   * The `telegram_bots` row the message came through, so the result goes back through the same bot
   * (docs/telegram.md, "Bots"); `null` for the env bot, and for entries written without `bot_id`.
   */
  botId: number | null;
}

/**
 * A run an API client started through the admin proxy (`POST /cursor-runner/cursor/execute/async`):
 * no chat to answer; its result is kept for the client to fetch.
 */
export interface ApiPendingRequest {
  prompt: string;
  /** When it was started, ISO-8601. */
  createdAt: string;
  /** A random token naming this run, so that its own entry is told from another run's under the same id. */
  run: string;
}

/** What a request id names while its result is awaited: a Telegram message or an API client's run. */
export type PendingEntry = { kind: 'telegram'; request: PendingRequest } | { kind: 'api'; request: ApiPendingRequest };

/**
 * A result as cursor-runner sent it — `success`, `exitCode`, `output`, `error`, `duration`, each
 * only when the callback had it, with the values it had — and when it arrived.
 */
export interface KeptResult {
  result: Record<string, unknown>;
  /** When the callback was accepted, ISO-8601. */
  receivedAt: string;
}

/** The fields of a callback a {@link KeptResult} keeps. */
export const KEPT_RESULT_FIELDS = ['success', 'exitCode', 'output', 'error', 'duration'] as const;

/** How long a result is kept for `GET /cursor-runner/requests/:id`, in seconds. */
export const RESULT_TTL_SECONDS = 3600;

/** The request id is blank, longer than 255 characters, or not `[A-Za-z0-9-]+`; the callback answers 400. */
export class InvalidRequestIdError extends Error {
  override readonly name = 'InvalidRequestIdError';

  constructor() {
    super(`Invalid request_id format: expected 1-${REQUEST_ID_MAX_LENGTH} letters, digits or dashes`);
  }
}

/** The store could not be reached or refused the operation. */
export class PendingRequestStoreError extends Error {
  override readonly name = 'PendingRequestStoreError';
}

/** The stored JSON, in the contract's snake_case field names, so entries other deployments wrote are read as well. */
interface StoredPendingRequest {
  chat_id: number;
  message_id: number;
  prompt: string;
  original_was_audio: boolean;
  created_at: string;
  bot_id?: number;
}

function encode(request: PendingRequest): string {
  const stored: StoredPendingRequest = {
    chat_id: request.chatId,
    message_id: request.messageId,
    prompt: request.prompt,
    original_was_audio: request.originalWasAudio,
    created_at: request.createdAt,
    ...(request.botId === null ? {} : { bot_id: request.botId }),
  };
  return JSON.stringify(stored);
}

function integerOf(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : undefined;
}

/** An API client's run: `kind: "api"` tells it from a Telegram entry, which has no `kind`. */
function encodeApi(request: ApiPendingRequest): string {
  return JSON.stringify({ kind: 'api', prompt: request.prompt, created_at: request.createdAt, run: request.run });
}

function parseObject(json: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a stored entry of either kind; `undefined` when it is not one. */
function decodeEntry(json: string): PendingEntry | undefined {
  const stored = parseObject(json);
  if (stored?.kind === 'api') {
    return {
      kind: 'api',
      request: {
        prompt: typeof stored.prompt === 'string' ? stored.prompt : '',
        createdAt: typeof stored.created_at === 'string' ? stored.created_at : '',
        run: typeof stored.run === 'string' ? stored.run : '',
      },
    };
  }
  const request = stored && decode(stored);
  return request ? { kind: 'telegram', request } : undefined;
}

/** Reads a stored Telegram entry; `undefined` when it is not one (missing chat/message ids). */
function decode(stored: Partial<Record<keyof StoredPendingRequest, unknown>>): PendingRequest | undefined {
  const chatId = integerOf(stored.chat_id);
  const messageId = integerOf(stored.message_id);
  if (chatId === undefined || messageId === undefined) return undefined;
  return {
    chatId,
    messageId,
    prompt: typeof stored.prompt === 'string' ? stored.prompt : '',
    originalWasAudio: stored.original_was_audio === true,
    createdAt: typeof stored.created_at === 'string' ? stored.created_at : '',
    botId: integerOf(stored.bot_id) ?? null,
  };
}

function assertValidId(id: string): void {
  if (!isValidRequestId(id)) throw new InvalidRequestIdError();
}

function assertValidTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > PENDING_REQUEST_MAX_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer between 1 and ${PENDING_REQUEST_MAX_TTL_SECONDS}`);
  }
}

/**
 * Pending cursor-runner requests by request id: required state, not cache — an entry lives until
 * its callback deletes it or its TTL passes, and a store failure is an error, never a miss.
 * Two implementations: Redis (`cursor_runner_callback:<id>`, shared by every instance) and an
 * in-process map for the embedded mode. This class holds the rules both obey (id validation, the
 * stored JSON, the error policy); subclasses only move strings.
 */
export abstract class PendingRequestStore {
  private readonly logger = new Logger('PendingRequestStore');

  /**
   * Stores `request` under `id` for `ttlSeconds` (default 3600, at most 86 400), replacing any
   * entry with that id. Resolves once the entry is stored: await it before calling cursor-runner,
   * or a fast callback may not find it.
   * @throws InvalidRequestIdError, RangeError for a bad TTL, PendingRequestStoreError
   */
  async store(id: string, request: PendingRequest, ttlSeconds = PENDING_REQUEST_TTL_SECONDS): Promise<void> {
    assertValidId(id);
    assertValidTtl(ttlSeconds);
    const dueInMs = ttlSeconds * 1000 - Math.min(DEADLINE_LEAD_MS, ttlSeconds * 500);
    await this.guard('store', async () => {
      await this.write(id, encode(request), ttlSeconds);
      await this.writeDeadline(id, dueInMs);
    });
  }

  /**
   * Takes up to `limit` Telegram requests whose deadline has passed ({@link DEADLINE_LEAD_MS} before
   * their entry expires) for `leaseMs`: their deadline moves that far ahead in the same step, so no
   * other caller (of any instance) takes them meanwhile, and a caller that dies or fails before
   * {@link forgetDeadline} leaves them to be taken again. Ids whose request was answered meanwhile
   * come too; the caller looks.
   * @throws PendingRequestStoreError
   */
  async takeDue(limit: number, leaseMs: number): Promise<string[]> {
    return this.guard('take deadlines', () => this.leaseDue(limit, leaseMs));
  }

  /**
   * Forgets `id`'s deadline: its chat was told, or its result came.
   * @throws PendingRequestStoreError
   */
  async forgetDeadline(id: string): Promise<void> {
    await this.guard('forget deadline', () => this.removeDeadline(id));
  }

  /**
   * The pending request, or `null` when there is none (never stored, expired, deleted) or the entry
   * is unreadable (logged).
   * @throws InvalidRequestIdError, PendingRequestStoreError when the store cannot answer — which
   *   must not be mistaken for "not found"
   */
  async get(id: string): Promise<PendingRequest | null> {
    const entry = await this.find(id);
    return entry?.kind === 'telegram' ? entry.request : null;
  }

  /**
   * The pending entry of either kind, or `null` as {@link get}.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async find(id: string): Promise<PendingEntry | null> {
    assertValidId(id);
    const json = await this.guard('get', () => this.read(id));
    if (json === null) return null;
    const entry = decodeEntry(json);
    if (entry) return entry;
    this.logger.warn(`Pending request ${id} is unreadable; treating it as not found`);
    return null;
  }

  /**
   * Stores an API client's run under `id` for `ttlSeconds` (default 3600) unless the id is taken:
   * a request under it awaits its result (a Telegram message's, whose chat would never be answered
   * if replaced) or its result is kept (which the new run's status would show). Whether it stored.
   * @throws InvalidRequestIdError, RangeError for a bad TTL, PendingRequestStoreError
   */
  async storeApiRequest(id: string, request: ApiPendingRequest, ttlSeconds = PENDING_REQUEST_TTL_SECONDS): Promise<boolean> {
    assertValidId(id);
    assertValidTtl(ttlSeconds);
    return this.guard('store', () => this.writeIfFree(id, encodeApi(request), ttlSeconds));
  }

  /**
   * Forgets an API client's run stored under `id`, only if the entry is still this very run (its
   * `run` token): never another run's, nor a Telegram request's. A store failure is logged, not thrown.
   * @throws InvalidRequestIdError
   */
  async forgetApiRequest(id: string, request: ApiPendingRequest): Promise<void> {
    assertValidId(id);
    try {
      await this.removeIfHolds(id, encodeApi(request));
    } catch (error) {
      this.logger.warn(`Could not forget API run ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Keeps `id`'s result for `ttlSeconds` (default {@link RESULT_TTL_SECONDS}).
   * @throws InvalidRequestIdError, RangeError for a bad TTL, PendingRequestStoreError
   */
  async keepResult(id: string, kept: KeptResult, ttlSeconds = RESULT_TTL_SECONDS): Promise<void> {
    assertValidId(id);
    assertValidTtl(ttlSeconds);
    const json = JSON.stringify({ result: kept.result, received_at: kept.receivedAt });
    await this.guard('keep result', () => this.writeResult(id, json, ttlSeconds));
  }

  /**
   * The kept result of `id`, or `null` when there is none (never kept, expired, unreadable).
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async keptResult(id: string): Promise<KeptResult | null> {
    assertValidId(id);
    const json = await this.guard('read result', () => this.readResult(id));
    const stored = json === null ? undefined : parseObject(json);
    const result = stored?.result;
    if (typeof result !== 'object' || result === null || Array.isArray(result)) return null;
    return { result: result as Record<string, unknown>, receivedAt: typeof stored?.received_at === 'string' ? stored.received_at : '' };
  }

  /**
   * Forgets the pending request. A store failure is logged, not thrown: the entry then expires by
   * its TTL, and the caller has already done its work.
   * @throws InvalidRequestIdError
   */
  async delete(id: string): Promise<void> {
    assertValidId(id);
    try {
      await this.remove(id);
    } catch (error) {
      this.logger.warn(`Could not delete pending request ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Claims the delivery of `id`'s result for `ttlSeconds` under `token`, which names one receipt of
   * a callback: `true` when `token` holds the claim — set now, or by an earlier try of the same
   * receipt whose command reached the store late (a hung Redis runs what it was sent once it
   * answers again, after the try that sent it gave up) — `false` while another receipt's claim is
   * held, by this or any other instance sharing the store, so a duplicate callback never sends a
   * second message. The claim ends with {@link completeDelivery}, {@link releaseDeliveryClaim},
   * {@link releaseDelivery}, or its TTL.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async claimDelivery(id: string, token: string, ttlSeconds: number): Promise<boolean> {
    assertValidId(id);
    assertValidTtl(ttlSeconds);
    return this.guard('claim', () => this.claim(id, token, ttlSeconds));
  }

  /**
   * Makes `token`'s claim of `id` last `ttlSeconds` from now (its result is queued: the claim now
   * lasts as long as a delivery may). A store failure, or a claim no longer `token`'s, is logged,
   * not thrown: the claim then ends by its first TTL, and the queue's `once` id still refuses a
   * second delivery.
   * @throws InvalidRequestIdError
   */
  async extendDeliveryClaim(id: string, token: string, ttlSeconds: number): Promise<void> {
    assertValidId(id);
    assertValidTtl(ttlSeconds);
    try {
      if (!(await this.extendClaim(id, token, ttlSeconds))) {
        this.logger.debug(`The delivery claim of ${id} was no longer its receipt's to extend (its delivery ended, or it lapsed)`);
      }
    } catch (error) {
      this.logger.warn(`Could not extend the delivery claim of ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Whether a delivery claim of `id` is held now: a callback of the request was accepted and its
   * result is on its way.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async deliveryUnderWay(id: string): Promise<boolean> {
    assertValidId(id);
    return this.guard('claim check', () => this.claimed(id));
  }

  /**
   * Whether a callback of `id` was taken: its delivery is under way, or its result is kept (delivered,
   * or given up and left for a replay).
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async resultCame(id: string): Promise<boolean> {
    return (await this.deliveryUnderWay(id)) || (await this.keptResult(id)) !== null;
  }

  /**
   * Records that the user waiting for `id` was told its result was refused: `true` for the first
   * caller only, while the pending request can live, so a refused callback sent again tells no one
   * again. Leaves the pending request and its claim alone: a valid callback that comes later is
   * still delivered.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async markRefusalNotice(id: string): Promise<boolean> {
    assertValidId(id);
    return this.guard('refusal notice', () => this.markRefusal(id, PENDING_REQUEST_MAX_TTL_SECONDS));
  }

  /**
   * Ends a claim without delivering: the pending request stays until its TTL, so the callback may
   * be replayed. A store failure is logged, not thrown (the claim then ends by its TTL).
   * @throws InvalidRequestIdError
   */
  async releaseDelivery(id: string): Promise<void> {
    assertValidId(id);
    try {
      await this.unclaim(id);
    } catch (error) {
      this.logger.warn(`Could not release the delivery claim of ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * As {@link releaseDelivery}, but only while `token` holds the claim: a receipt that gives up
   * never ends another receipt's claim.
   * @throws InvalidRequestIdError
   */
  async releaseDeliveryClaim(id: string, token: string): Promise<void> {
    assertValidId(id);
    try {
      await this.unclaimWithToken(id, token);
    } catch (error) {
      this.logger.warn(`Could not release the delivery claim of ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * The result was delivered: forgets the pending request and its claim together. A store failure
   * is logged, not thrown: both expire by their TTLs.
   * @throws InvalidRequestIdError
   */
  async completeDelivery(id: string): Promise<void> {
    assertValidId(id);
    try {
      await this.removeWithClaim(id);
    } catch (error) {
      this.logger.warn(`Could not delete delivered pending request ${id}: ${(error as Error).message}`);
    }
  }

  /** Sets `json` under `id`, expiring after `ttlSeconds`, replacing what was there. */
  protected abstract write(id: string, json: string, ttlSeconds: number): Promise<void>;

  /** Records that `id`'s deadline falls `dueInMs` from now, replacing an earlier one. */
  protected abstract writeDeadline(id: string, dueInMs: number): Promise<void>;

  /** Returns up to `limit` ids whose deadline has passed, moving each deadline `leaseMs` from now, atomically. */
  protected abstract leaseDue(limit: number, leaseMs: number): Promise<string[]>;

  protected abstract removeDeadline(id: string): Promise<void>;

  /**
   * Sets `json` under `id`, expiring after `ttlSeconds`, unless an entry or a kept result of `id`
   * exists; whether it was set. The same call repeated (sent again after a broken connection)
   * finds its own value — which holds a token of its run, so no other call's — and still answers
   * that it was set.
   */
  protected abstract writeIfFree(id: string, json: string, ttlSeconds: number): Promise<boolean>;

  /** Removes the entry of `id` if it holds exactly `json`. */
  protected abstract removeIfHolds(id: string, json: string): Promise<void>;

  /** The JSON under `id`, or `null` when absent or expired. */
  protected abstract read(id: string): Promise<string | null>;

  protected abstract remove(id: string): Promise<void>;
  /** Sets the claim of `id` to `token` unless another is held, expiring after `ttlSeconds`; whether `token` holds it. */
  protected abstract claim(id: string, token: string, ttlSeconds: number): Promise<boolean>;
  /** Sets the claim's TTL to `ttlSeconds` while `token` holds it; whether it does. */
  protected abstract extendClaim(id: string, token: string, ttlSeconds: number): Promise<boolean>;
  protected abstract unclaim(id: string): Promise<void>;
  /** Removes the claim of `id` while `token` holds it. */
  protected abstract unclaimWithToken(id: string, token: string): Promise<void>;
  /** Whether a claim of `id` is held. */
  protected abstract claimed(id: string): Promise<boolean>;
  /** Sets the refusal-notice mark of `id` unless one exists, expiring after `ttlSeconds`; whether it was set. */
  protected abstract markRefusal(id: string, ttlSeconds: number): Promise<boolean>;
  /** Removes the entry and its claim. */
  protected abstract removeWithClaim(id: string): Promise<void>;
  /** Sets the kept result of `id`, expiring after `ttlSeconds`. */
  protected abstract writeResult(id: string, json: string, ttlSeconds: number): Promise<void>;
  /** The kept result of `id`, or `null` when absent or expired. */
  protected abstract readResult(id: string): Promise<string | null>;

  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new PendingRequestStoreError(`Pending request store ${operation} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
