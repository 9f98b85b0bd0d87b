export {
  JobQueue,
  PermanentJobError,
  QueueUnavailableError,
  RetryLaterError,
  type AddOnce,
  type AddOptions,
  type AddResult,
  type GiveUpHandler,
  type Job,
  type JobHandler,
  type JobOutcomes,
  type ProcessOptions,
  type QueueDepth,
} from './job-queue';
export { defineQueue, InjectQueue, type KeptJobs, type QueueDefinition, type QueueRetention } from './queue-definition';
export { QueueModule, createJobQueue, WORKER_DRAIN_SHARE } from './queue.module';
export { BullJobQueue, onceKey, RETENTION } from './bullmq-job-queue';
export { InProcessJobQueue } from './in-process-job-queue';
export { retryDelayMs } from './retry-policy';
export { QueueRegistry, QueueRegistryModule } from './queue-registry';
