import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { RequestValidationException } from './request-validation.exception';

/**
 * Nest's ValidationPipe, except that a path or query value declared a number is converted only from
 * the text the number is written as (`String(number)`: `12`, `-3`, `1.5`), else passed on as the
 * text it was for the parameter's own pipe or validator to refuse. Nest converts with `+value`, so
 * `0x1`, `1e0`, `+1`, `01`, `1.0`, ` 1` (`%201`) became 1 before a pipe like ParseRowIdPipe could
 * see what was sent, and reached row 1; `` became 0.
 */
class AppValidationPipe extends ValidationPipe {
  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.metatype === Number && typeof value === 'string' && String(Number(value)) !== value) return value;
    return super.transformPrimitive(value, metadata);
  }
}

/** The app-wide DTO validation: unknown properties are stripped, failures name their fields. */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    transform: true,
    exceptionFactory: (errors) => RequestValidationException.fromValidationErrors(errors),
  });
}

/**
 * A field that may be left out, and is validated like any other when it is sent — `null` included,
 * which class-validator's `@IsOptional()` lets through unchecked: a `null` for a column that cannot
 * hold one then reached the database and came back as a 500.
 */
export function OptionalNotNull(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
