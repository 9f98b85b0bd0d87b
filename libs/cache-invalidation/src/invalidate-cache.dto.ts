import { ArrayMaxSize, IsArray, IsOptional, IsString, Length } from 'class-validator';
import { MAX_SELECTORS_PER_EVENT } from './invalidation-event';

/** Body of `POST /admin/cache/invalidate`: at least one non-empty list (the service checks that). */
export class InvalidateCacheDto {
  /** Full cache keys, `<prefix>:<schemaVersion>:<namespace>:<key>`. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SELECTORS_PER_EVENT)
  @IsString({ each: true })
  @Length(1, 1_024, { each: true })
  keys?: string[];

  /** Tags, removed from every namespace. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SELECTORS_PER_EVENT)
  @IsString({ each: true })
  @Length(1, 1_024, { each: true })
  tags?: string[];

  /** Namespace names, emptied entirely. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsString({ each: true })
  @Length(1, 32, { each: true })
  namespaces?: string[];
}
