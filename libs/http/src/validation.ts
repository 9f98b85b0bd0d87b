import { ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { RequestValidationException } from './request-validation.exception';

/** The app-wide DTO validation: unknown properties are stripped, failures name their fields. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
