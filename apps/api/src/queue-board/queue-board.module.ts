import { Module } from '@nestjs/common';
import { QueueRegistryModule } from '@app/queue';
import { QueueBoard } from './queue-board';

/** Bull Board at `/admin/queues`, behind the admin secret. */
@Module({ imports: [QueueRegistryModule], providers: [QueueBoard] })
export class QueueBoardModule {}
