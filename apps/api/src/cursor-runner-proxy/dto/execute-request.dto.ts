import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { REQUEST_ID_MAX_LENGTH, REQUEST_ID_PATTERN, type CursorRunnerTask } from '../../adapters/cursor-runner';

/**
 * Body of `POST /cursor-runner/cursor/execute[/async]` (docs/cursor-runner.md, "Request body"). The branch is accepted as
 * `branch_name` or `branchName`.
 */
export class ExecuteRequestDto {
  @ApiPropertyOptional({ description: "cursor-runner's repository name; none means its default." })
  @IsOptional()
  @IsString()
  repository?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  branch_name?: string;

  @ApiPropertyOptional({ description: 'Same as `branch_name`.' })
  @IsOptional()
  @IsString()
  branchName?: string;

  @ApiProperty({ pattern: '\\S' })
  @IsString()
  @IsNotEmpty()
  @Matches(/\S/, { message: 'prompt must not be blank' })
  prompt!: string;

  @ApiPropertyOptional({
    description: 'Request id; generated when absent.',
    maxLength: REQUEST_ID_MAX_LENGTH,
    pattern: REQUEST_ID_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(REQUEST_ID_MAX_LENGTH)
  @Matches(REQUEST_ID_PATTERN, { message: 'id must contain only letters, digits and dashes' })
  id?: string;

  /** An optional field sent as `null` counts as left out (as the original service read it), never as a value. */
  toTask(): CursorRunnerTask {
    return {
      id: this.id ?? undefined,
      repository: this.repository ?? undefined,
      branchName: this.branch_name ?? this.branchName ?? undefined,
      prompt: this.prompt,
    };
  }
}
