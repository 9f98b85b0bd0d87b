export { ConversationModule } from './conversation.module';
export { ChatReplies, plainMessage, type ChatMessage, type ReplyMedium, type ReplyOptions } from './chat-replies';
export { ALLOW_AUDIO_OUTPUT, BotLookup, DEBUG_SETTING, FileDownloads, SettingSwitches } from './ports';
export { AcceptUpdate } from './intake/accept-update.use-case';
export { TELEGRAM_SECRET_HEADER, TelegramWebhookGuard } from './intake/telegram-webhook.guard';
export { CallbackSecretGuard, installCallbackAuthentication } from './callbacks/callback-secret.guard';
export { ProcessUpdate } from './processing/process-update.use-case';
export { ForwardMessage } from './processing/forward-message.use-case';
export { AnswerLocally } from './processing/answer-locally.use-case';
export { StartConversation } from './processing/start-conversation.use-case';
export { SendResult } from './callbacks/result-delivery';
export { DeliverResult } from './callbacks/deliver-result.use-case';
export { ResultDeadlines } from './callbacks/result-deadlines';
export { DELIVERY_CLAIM_TTL_SECONDS, RESULT_ONCE_TTL_SECONDS, ReceiveCallback } from './callbacks/receive-callback.use-case';
export { RESULT_DELIVERIES_QUEUE, resultDeliveryOnceId, type ResultDeliveryJob } from './result-deliveries.queue';
export type { TelegramUpdate } from './telegram-update';
export { CALLBACK_BODY_LIMIT, installRefusedCallbackReports, RefusedCallbacks } from './callbacks/refused-callbacks';
export {
  InvalidRequestIdError,
  PENDING_REQUEST_MAX_TTL_SECONDS,
  PENDING_REQUEST_TTL_SECONDS,
  PendingRequestStore,
  PendingRequestStoreError,
  type PendingRequest,
} from './pending-requests/pending-request-store';
export { RunRequests, type RunStatus } from './pending-requests/run-requests';
export { InMemoryPendingRequestStore } from './pending-requests/in-memory-pending-request-store';
export { deliveryClaimKey, keptResultKey, pendingRequestKey, RedisPendingRequestStore } from './pending-requests/redis-pending-request-store';
export {
  TELEGRAM_UPDATES_QUEUE,
  UPDATE_DEDUPLICATION_TTL_SECONDS,
  updateDeduplicationId,
  type TelegramUpdateJob,
} from './telegram-updates.queue';
export * from './texts';
