import { Module } from '@nestjs/common';
import { QueueModule } from '@app/queue';
import { CursorRunnerClientModule } from '../adapters/cursor-runner';
import { ElevenLabsModule } from '../adapters/elevenlabs';
import { SettingsModule, SettingsService } from '../settings';
import { TelegramBots, TelegramFiles, TelegramModule } from '../telegram';
import { CallbackSecretGuard } from './callbacks/callback-secret.guard';
import { CursorRunnerCallbackController } from './callbacks/cursor-runner-callback.controller';
import { DeliverResult } from './callbacks/deliver-result.use-case';
import { ReceiveCallback } from './callbacks/receive-callback.use-case';
import { RefusedCallbacks } from './callbacks/refused-callbacks';
import { SendResult } from './callbacks/result-delivery';
import { ChatReplies } from './chat-replies';
import { AcceptUpdate } from './intake/accept-update.use-case';
import { TelegramWebhookController } from './intake/telegram-webhook.controller';
import { TelegramWebhookGuard } from './intake/telegram-webhook.guard';
import { pendingRequestStoreProvider } from './pending-requests/pending-request-store.provider';
import { RunRequests } from './pending-requests/run-requests';
import { BotLookup, FileDownloads, SettingSwitches } from './ports';
import { AnswerLocally } from './processing/answer-locally.use-case';
import { ForwardMessage } from './processing/forward-message.use-case';
import { ProcessUpdate } from './processing/process-update.use-case';
import { StartConversation } from './processing/start-conversation.use-case';
import { ResultDeadlines } from './callbacks/result-deadlines';
import { RESULT_DELIVERIES_QUEUE } from './result-deliveries.queue';
import { TELEGRAM_UPDATES_QUEUE } from './telegram-updates.queue';

/**
 * The conversation with a Telegram user, end to end (docs/architecture.md, "One message's path"):
 *
 * 1. `POST /telegram/webhook` → {@link AcceptUpdate} queues the update and answers at once.
 * 2. The queue's worker runs {@link ProcessUpdate}: audio is transcribed, local commands are
 *    answered by {@link AnswerLocally}, everything else is sent to cursor-runner by
 *    {@link ForwardMessage}, which stores a pending request first.
 * 3. `POST /cursor-runner/callback` → {@link ReceiveCallback} claims the pending request and queues
 *    the result before answering; the result-deliveries queue's worker runs {@link DeliverResult},
 *    which sends it ({@link SendResult}) with retries.
 *
 * Every text reaches the user through {@link ChatReplies}.
 */
@Module({
  imports: [
    QueueModule.forFeature(TELEGRAM_UPDATES_QUEUE),
    QueueModule.forFeature(RESULT_DELIVERIES_QUEUE),
    TelegramModule,
    SettingsModule,
    ElevenLabsModule,
    CursorRunnerClientModule,
  ],
  controllers: [TelegramWebhookController, CursorRunnerCallbackController],
  providers: [
    { provide: BotLookup, useExisting: TelegramBots },
    { provide: FileDownloads, useExisting: TelegramFiles },
    { provide: SettingSwitches, useExisting: SettingsService },
    pendingRequestStoreProvider,
    TelegramWebhookGuard,
    CallbackSecretGuard,
    ChatReplies,
    AcceptUpdate,
    AnswerLocally,
    ForwardMessage,
    ProcessUpdate,
    StartConversation,
    ReceiveCallback,
    RefusedCallbacks,
    SendResult,
    DeliverResult,
    ResultDeadlines,
    RunRequests,
  ],
  exports: [RunRequests],
})
export class ConversationModule {}
