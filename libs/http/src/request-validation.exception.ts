import { BadRequestException, type ValidationError } from '@nestjs/common';
import { errorBody } from './error-body';

export interface FieldProblem {
  field: string;
  message: string;
}

/** class-validator's constraint for a property the DTO does not declare (`forbidNonWhitelisted`). */
const UNDECLARED_PROPERTY = 'whitelistValidation';

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({
      field,
      message: constraint === UNDECLARED_PROPERTY ? `${field} is not a field this route takes` : message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** A 400 whose body names every field that failed validation. */
export class RequestValidationException extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(
      errorBody(
        `Invalid request: ${problems.map((problem) => problem.message).join('; ')}`,
        'Bad Request',
        { fields: problems },
      ),
    );
  }

  static fromValidationErrors(errors: ValidationError[]): RequestValidationException {
    return new RequestValidationException(flatten(errors));
  }
}
