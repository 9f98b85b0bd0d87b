import { ValidationPipe } from '@nestjs/common';
import { RequestValidationException } from './request-validation.exception';

/** The app-wide DTO validation: unknown properties are stripped, failures name their fields. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    exceptionFactory: (errors) => RequestValidationException.fromValidationErrors(errors),
  });
}
