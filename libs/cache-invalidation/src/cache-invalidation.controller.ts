import { BadRequestException, Body, Controller, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminSecretGuard, errorBody } from '@app/http';
import {
  CacheInvalidationService,
  InvalidationRequestError,
  type InvalidationResult,
} from './cache-invalidation.service';
import { InvalidateCacheDto } from './invalidate-cache.dto';

/** Operators' manual invalidation, fleet-wide. Needs `X-Admin-Secret` (= `WEBHOOK_SECRET`). */
@ApiTags('cache admin')
@Controller('admin/cache')
@UseGuards(AdminSecretGuard)
export class CacheInvalidationController {
  constructor(private readonly invalidation: CacheInvalidationService) {}

  /** Removes keys, tagged entries or whole namespaces from L2 and from every instance's L1. */
  @Post('invalidate')
  @ApiOperation({ summary: 'Removes keys, tagged entries or whole namespaces from L2 and every instance\'s L1' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['eventId', 'l2Removed', 'l2Deferred', 'l1Removed', 'namespaces', 'published'],
      properties: {
        eventId: { oneOf: [{ type: 'string' }, { type: 'null' }], description: 'The announced event, or null when nothing was announced.' },
        l2Removed: { type: 'integer', minimum: 0 },
        l2Deferred: { type: 'boolean' },
        l1Removed: { type: 'integer', minimum: 0 },
        namespaces: { type: 'array', items: { type: 'string' } },
        published: { type: 'boolean', description: 'Whether the event reached the bus.' },
      },
    },
  })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async invalidate(@Body() body: InvalidateCacheDto): Promise<InvalidationResult> {
    try {
      return await this.invalidation.invalidate(body);
    } catch (error) {
      if (error instanceof InvalidationRequestError) {
        throw new BadRequestException(errorBody(error.message, 'Bad Request'));
      }
      throw error;
    }
  }
}
