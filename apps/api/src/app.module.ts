import { DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { CacheModule } from '@app/cache';
import { CacheInvalidationModule } from '@app/cache-invalidation';
import { AppConfig, ConfigModule } from '@app/config';
import { AllExceptionsFilter, createValidationPipe } from '@app/http';
import { LoggingModule, type LoggingOptions } from '@app/logging';
import { PrismaModule } from '@app/prisma';
import { RedisModule } from '@app/redis';
import { CallbacksModule } from './callbacks/callbacks.module';
import { CursorRunnerCallbackModule } from './callbacks/cursor-runner-callback.module';
import { CursorRunnerModule } from './cursor-runner/cursor-runner.module';
import { ElevenLabsModule } from './elevenlabs';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueBoardModule } from './queue-board/queue-board.module';
import { SettingsModule } from './settings';
import { TelegramModule } from './telegram';
import { TelegramWebhookModule } from './telegram-webhook';
import { ToolsModule } from './tools/tools.module';

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
        CacheModule.forRoot(),
        CacheInvalidationModule,
        HealthModule,
        SettingsModule,
        ToolsModule,
        CursorRunnerModule,
        CallbacksModule,
        CursorRunnerCallbackModule,
        ElevenLabsModule,
        TelegramModule,
        TelegramWebhookModule,
        QueueBoardModule,
        MetricsModule,
        ...(options.extraModules ?? []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
