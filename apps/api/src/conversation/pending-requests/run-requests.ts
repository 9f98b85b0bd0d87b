import { Injectable } from '@nestjs/common';
import { PendingRequestStore, type KeptResult } from './pending-request-store';

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
   * Registers an API client's run before cursor-runner is asked, so its callback finds it; `false`
   * when the id is taken (a request under it awaits its result, or its result is kept) and nothing
   * was registered.
   * @throws InvalidRequestIdError, PendingRequestStoreError
   */
  registerApiRun(requestId: string, prompt: string): Promise<boolean> {
    return this.store.storeApiRequest(requestId, { prompt, createdAt: new Date().toISOString() });
  }

  /** Forgets an API client's run cursor-runner did not take (it will never call back). */
  async forgetApiRun(requestId: string): Promise<void> {
    await this.store.delete(requestId);
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
