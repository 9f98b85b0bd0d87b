export { QueueBoardModule } from './queue-board.module';
export { QUEUE_BOARD_PATHS, QUEUE_BOARD_SECURITY_SCHEMES, QUEUE_BOARD_UNDOCUMENTED } from './queue-board.openapi';
