import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length } from 'class-validator';
import { MAX_SELECTORS_PER_EVENT } from './invalidation-event';

/** Body of `POST /admin/cache/invalidate`: at least one non-empty list (the service checks that). */
export class InvalidateCacheDto {
  /** Full cache keys, `<prefix>:<schemaVersion>:<namespace>:<key>`. */
  @ApiPropertyOptional({ type: [String], maxItems: MAX_SELECTORS_PER_EVENT, items: { type: 'string', minLength: 1, maxLength: 1_024 } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SELECTORS_PER_EVENT)
  @IsString({ each: true })
  @Length(1, 1_024, { each: true })
  keys?: string[];

  /** Tags, removed from every namespace. */
  @ApiPropertyOptional({ type: [String], maxItems: MAX_SELECTORS_PER_EVENT, items: { type: 'string', minLength: 1, maxLength: 1_024 } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SELECTORS_PER_EVENT)
  @IsString({ each: true })
  @Length(1, 1_024, { each: true })
  tags?: string[];

  /** Namespace names, emptied entirely. */
  @ApiPropertyOptional({ type: [String], maxItems: 1_000, items: { type: 'string', minLength: 1, maxLength: 32 } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsString({ each: true })
  @Length(1, 32, { each: true })
  namespaces?: string[];
}
