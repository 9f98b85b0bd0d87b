import { Controller, Get } from '@nestjs/common';
import { AppConfig } from '@app/config';

export interface ServiceStatus {
  status: 'healthy';
  service: string;
  version: string;
}

/** The original system's health answer (domain.md §2.3), kept at `/health` and `/`. */
@Controller()
export class HealthController {
  constructor(private readonly config: AppConfig) {}

  @Get(['health', '/'])
  status(): ServiceStatus {
    return { status: 'healthy', service: this.config.app.name, version: this.config.app.version };
  }
}
