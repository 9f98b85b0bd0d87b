import { BadRequestException, type ValidationError } from '@nestjs/common';
import { errorBody } from './error-body';

export interface FieldProblem {
  field: string;
  message: string;
}

/** How many undeclared fields a 400 names: a body of 10 000 of them is answered in a few hundred bytes. */
const NAMED_UNDECLARED_FIELDS = 10;
/** Longest field name quoted in a 400. */
const QUOTED_NAME_LIMIT = 64;

const quoted = (name: string): string => (name.length > QUOTED_NAME_LIMIT ? `${name.slice(0, QUOTED_NAME_LIMIT)}…` : name);

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** A 400 whose body names every field that failed validation (of undeclared ones, the first ten). */
export class RequestValidationException extends BadRequestException {
  /** @param unnamed how many more undeclared fields were sent than `problems` names */
  constructor(
    readonly problems: FieldProblem[],
    unnamed = 0,
  ) {
    const more = unnamed > 0 ? [`and ${unnamed} more field(s) this route does not take`] : [];
    super(
      errorBody(
        `Invalid request: ${[...problems.map((problem) => problem.message), ...more].join('; ')}`,
        'Bad Request',
        { fields: problems },
      ),
    );
  }

  static fromValidationErrors(errors: ValidationError[]): RequestValidationException {
    return new RequestValidationException(flatten(errors));
  }

  /** `undeclared`, fields sent that the route does not take, named before the DTO's own `problems`. */
  static withUndeclared(undeclared: readonly string[], problems: readonly FieldProblem[]): RequestValidationException {
    const named = undeclared.slice(0, NAMED_UNDECLARED_FIELDS).map((name) => ({
      field: quoted(name),
      message: `${quoted(name)} is not a field this route takes`,
    }));
    return new RequestValidationException([...named, ...problems], undeclared.length - named.length);
  }
}
