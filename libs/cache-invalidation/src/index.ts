export { CacheInvalidationModule } from './cache-invalidation.module';
export {
  CacheInvalidationService,
  InvalidationRequestError,
  type AppliedListener,
  type InvalidationBusStatus,
  type InvalidationRequest,
  type InvalidationResult,
} from './cache-invalidation.service';
export {
  INVALIDATION_EVENT_VERSION,
  invalidationEventSchema,
  parseInvalidationEvent,
  type InvalidationEvent,
  type InvalidationTarget,
} from './invalidation-event';
export {
  InvalidationTransport,
  LocalInvalidationTransport,
  RedisInvalidationTransport,
  type TransportHandlers,
} from './invalidation-transport';
