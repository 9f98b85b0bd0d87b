export { OperationalMetricsModule } from './metrics.module';
