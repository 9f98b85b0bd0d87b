import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { REQUEST_ID_PATTERN, type CursorRunnerTask } from '../../adapters/cursor-runner';

/**
 * Longest request id an API client may choose: its result is looked up as a path parameter of
 * `GET /cursor-runner/requests/:id`, and Fastify answers 414 for one over 100 characters
 * (`maxParamLength`). cursor-runner's own ids may be longer; a run started here never is.
 */
export const API_REQUEST_ID_MAX_LENGTH = 100;

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
    maxLength: API_REQUEST_ID_MAX_LENGTH,
    pattern: REQUEST_ID_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(API_REQUEST_ID_MAX_LENGTH, { message: `id must be at most ${API_REQUEST_ID_MAX_LENGTH} characters (it is looked up in a path)` })
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
