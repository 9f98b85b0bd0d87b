export { AppConfig, ConfigValidationError, loadConfig, runsJobs, servesFeatureRoutes, type AppRole } from './app-config';
export { ConfigModule } from './config.module';
export { INSECURE_SECRET_DEFAULT } from './config.schema';
