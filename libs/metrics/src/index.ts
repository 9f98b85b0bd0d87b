export { MetricsModule } from './metrics.module';
export { MetricsRegistry } from './metrics-registry';
