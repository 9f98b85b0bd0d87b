import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from '@app/config';
import { AllExceptionsFilter, createValidationPipe } from '@app/http';
import { LoggingModule, type LoggingOptions } from '@app/logging';
import { PrismaModule } from '@app/prisma';
import { RedisModule } from '@app/redis';
import { HealthModule } from './health/health.module';

export interface AppModuleOptions {
  logging?: LoggingOptions;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(options.logging),
        RedisModule,
        PrismaModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
