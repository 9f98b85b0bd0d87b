import { Body, Controller, Get, Injectable, Module, Param, Put } from '@nestjs/common';
import { IsBoolean } from 'class-validator';
import { Cacheable, CacheEvict, CacheModule, defineCacheNamespace } from '@app/cache';
import { PrismaService } from '@app/prisma';
import request from 'supertest';
import type { TestApp } from './test-app';

export const FLEET_CACHE = defineCacheNamespace({
  name: 'fleet',
  ttl: '5m',
  l1Ttl: '5m',
  description: 'Fixture: system_settings rows read by two instances sharing one database',
});

/**
 * A feature as two instances of the app run it: reads cached in L1 + L2, writes to the shared
 * database. The long L1 lifetime makes any missed invalidation visible as a stale read.
 */
@Injectable()
export class FleetSettings {
  /**
   * Awaited between reading the row and returning it, when a test sets it: holds a read that has
   * loaded the old value while a write on another instance runs.
   */
  afterRead: (() => Promise<void>) | undefined;

  constructor(private readonly prisma: PrismaService) {}

  @Cacheable({ namespace: FLEET_CACHE, key: (name: string) => ['setting', name], tags: ['settings'] })
  async read(name: string): Promise<{ name: string; value: number }> {
    const row = await this.prisma.systemSetting.findUnique({ where: { name } });
    await this.afterRead?.();
    return { name, value: row?.value ?? 0 };
  }

  @CacheEvict({ namespace: FLEET_CACHE, keys: (name: string) => [['setting', name]] })
  async write(name: string, value: number): Promise<void> {
    await this.prisma.systemSetting.upsert({ where: { name }, create: { name, value }, update: { value } });
  }
}

class FleetSettingBody {
  @IsBoolean()
  enabled!: boolean;
}

@Controller('fleet/settings')
class FleetSettingsController {
  constructor(private readonly settings: FleetSettings) {}

  @Get(':name')
  read(@Param('name') name: string) {
    return this.settings.read(name);
  }

  @Put(':name')
  async write(@Param('name') name: string, @Body() body: FleetSettingBody) {
    await this.settings.write(name, body.enabled ? 1 : 0);
    return { name, value: body.enabled ? 1 : 0 };
  }
}

@Module({
  imports: [CacheModule.forFeature(FLEET_CACHE)],
  controllers: [FleetSettingsController],
  providers: [FleetSettings],
})
export class FleetFixturesModule {}

/** `GET /fleet/settings/:name` on `app`: what that instance answers for the setting now. */
export async function readFleetSetting(app: TestApp, name: string): Promise<{ name: string; value: number }> {
  return (await request(app.baseUrl).get(`/fleet/settings/${name}`).expect(200)).body as { name: string; value: number };
}
