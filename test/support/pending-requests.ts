import { randomUUID } from 'node:crypto';
import { PendingRequestStore } from '../../apps/api/src/conversation';
import type { TestApp } from './test-app';

/**
 * A Telegram request of `app` waiting for its cursor-runner result, as a forward leaves it: message
 * 9 of `chatId`, through the env bot. Returns its request id.
 */
export async function storeWaitingRequest(app: TestApp, chatId: number): Promise<string> {
  const requestId = `telegram-${Math.floor(Date.now() / 1000)}-${randomUUID().slice(0, 8)}`;
  await app.app.get(PendingRequestStore).store(requestId, {
    chatId,
    messageId: 9,
    prompt: 'p',
    originalWasAudio: false,
    createdAt: new Date().toISOString(),
    botId: null,
  });
  return requestId;
}
