import { DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { CacheModule } from '@app/cache';
import { CacheInvalidationModule } from '@app/cache-invalidation';
import { AppConfig, ConfigModule } from '@app/config';
import { AllExceptionsFilter, createValidationPipe } from '@app/http';
import { LoggingModule, type LoggingOptions } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { PrismaModule } from '@app/prisma';
import { RedisModule } from '@app/redis';
import { ConversationModule } from './conversation';
import { CursorRunnerProxyModule } from './cursor-runner-proxy';
import { HealthModule } from './health';
import { OperationalMetricsModule } from './metrics';
import { QueueBoardModule } from './queue-board';
import { SettingsModule } from './settings';
import { TelegramModule } from './telegram';
import { ToolsModule } from './tools';

export interface AppModuleOptions {
  logging?: LoggingOptions;
  /** Extra modules composed into the app (tests and benchmarks add fixture routes this way). */
  extraModules?: Type[];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(options.logging),
        ScheduleModule.forRoot(),
        RedisModule,
        PrismaModule,
        MetricsModule,
        CacheModule.forRoot(),
        CacheInvalidationModule,
        HealthModule,
        SettingsModule,
        ToolsModule,
        CursorRunnerProxyModule,
        TelegramModule,
        ConversationModule,
        QueueBoardModule,
        OperationalMetricsModule,
        ...(options.extraModules ?? []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
