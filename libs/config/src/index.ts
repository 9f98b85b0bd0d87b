export {
  AppConfig,
  ConfigValidationError,
  loadConfig,
  runsJobs,
  servesFeatureRoutes,
  type AppRole,
  type RedisNodeAddress,
  type RedisTopology,
} from './app-config';
export { ConfigModule } from './config.module';
export { INSECURE_SECRET_DEFAULT } from './config.schema';
