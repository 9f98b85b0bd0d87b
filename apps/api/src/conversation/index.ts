export { ConversationModule } from './conversation.module';
export { ChatReplies, plainMessage, type ChatMessage, type ReplyMedium, type ReplyOptions } from './chat-replies';
export { ALLOW_AUDIO_OUTPUT, DEBUG_SETTING } from './ports';
export { AcceptUpdate } from './intake/accept-update.use-case';
export { TELEGRAM_SECRET_HEADER, TelegramWebhookGuard } from './intake/telegram-webhook.guard';
export { CallbackSecretGuard } from './callbacks/callback-secret.guard';
export { ProcessUpdate } from './processing/process-update.use-case';
export { DeliverResult } from './callbacks/deliver-result.use-case';
export { DELIVERY_CLAIM_TTL_SECONDS } from './callbacks/receive-callback.use-case';
export {
  InvalidRequestIdError,
  PENDING_REQUEST_MAX_TTL_SECONDS,
  PENDING_REQUEST_TTL_SECONDS,
  PendingRequestStore,
  PendingRequestStoreError,
  type PendingRequest,
} from './pending-requests/pending-request-store';
export { InMemoryPendingRequestStore } from './pending-requests/in-memory-pending-request-store';
export { deliveryClaimKey, pendingRequestKey, RedisPendingRequestStore } from './pending-requests/redis-pending-request-store';
export {
  TELEGRAM_UPDATES_QUEUE,
  UPDATE_DEDUPLICATION_TTL_SECONDS,
  updateDeduplicationId,
  type TelegramUpdateJob,
} from './telegram-updates.queue';
export * from './texts';
