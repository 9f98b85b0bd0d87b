export { HealthModule } from './health.module';
export { QUEUES_UP_REUSE_MS } from './indicators/queues.indicator';
