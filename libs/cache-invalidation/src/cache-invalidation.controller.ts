import { BadRequestException, Body, Controller, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AdminSecretGuard, errorBody } from '@app/http';
import {
  CacheInvalidationService,
  InvalidationRequestError,
  type InvalidationResult,
} from './cache-invalidation.service';
import { InvalidateCacheDto } from './invalidate-cache.dto';

/** Operators' manual invalidation, fleet-wide. Needs `X-Admin-Secret` (= `WEBHOOK_SECRET`). */
@Controller('admin/cache')
@UseGuards(AdminSecretGuard)
export class CacheInvalidationController {
  constructor(private readonly invalidation: CacheInvalidationService) {}

  /** Removes keys, tagged entries or whole namespaces from L2 and from every instance's L1. */
  @Post('invalidate')
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
