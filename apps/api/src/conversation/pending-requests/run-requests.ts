import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PendingRequestStore, type ApiPendingRequest, type KeptResult } from './pending-request-store';

/** An API client's registered run. */
export interface RegisteredRun {
  /** Forgets the run cursor-runner did not take (it will never call back); never another run under its id. */
  forget(): Promise<void>;
}

/** Where a cursor-runner request stands, for an API client; never the chat it came from. */
export type RunStatus =
  | { requestId: string; status: 'pending' }
  | { requestId: string; status: 'completed'; result: KeptResult['result'] };

/**
 * cursor-runner runs as API clients see them: a run started through the admin proxy is registered
 * as a pending request of its own kind (no chat to answer), and any request — that one, or one a
 * Telegram message started — can be looked up until an hour after its result came.
 */
@Injectable()
export class RunRequests {
  constructor(private readonly store: PendingRequestStore) {}

  /**
   * Registers an API client's run before cursor-runner is asked, so its callback finds it; `null`
   * when the id is taken (a request under it awaits its result, or its result is kept) and nothing
   * was registered. When the store fails, a registration that still lands later (a frozen Redis
   * runs what it was sent once it wakes) is undone then, so the id is free for the retry a 503
   * invites rather than held an hour by a run that never started.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async registerApiRun(requestId: string, prompt: string): Promise<RegisteredRun | null> {
    const run: ApiPendingRequest = { prompt, createdAt: new Date().toISOString(), run: randomUUID() };
    try {
      if (!(await this.store.storeApiRequest(requestId, run))) return null;
    } catch (error) {
      void this.store.forgetApiRequest(requestId, run);
      throw error;
    }
    return { forget: () => this.store.forgetApiRequest(requestId, run) };
  }

  /**
   * `completed` with the result as cursor-runner sent it (kept one hour), else `pending` while the
   * request awaits its callback, else `null` (unknown, expired).
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  async statusOf(requestId: string): Promise<RunStatus | null> {
    const kept = await this.store.keptResult(requestId);
    if (kept) return { requestId, status: 'completed', result: kept.result };
    return (await this.store.find(requestId)) ? { requestId, status: 'pending' } : null;
  }
}
