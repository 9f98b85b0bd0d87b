import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { RequestValidationException } from './request-validation.exception';

/** A row id as it may appear in a path: a positive integer JavaScript and SQLite both hold exactly. */
const ROW_ID = /^[1-9][0-9]{0,15}$/;

/**
 * Path ids (`/telegram/bots/:id`): a positive integer up to 2^53 - 1, else a 400 naming the
 * parameter. Nest's `ParseIntPipe` lets `99999999999999999999` through as a float the database
 * cannot take, which surfaced as a 500.
 */
@Injectable()
export class ParseRowIdPipe implements PipeTransform<string, number> {
  transform(value: string | number, { data }: ArgumentMetadata): number {
    // The app-wide validation pipe runs first and may already have turned the text into a number.
    const id = typeof value === 'number' ? value : ROW_ID.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(id) || id < 1) {
      const parameter = data ?? 'id';
      throw new RequestValidationException([{ field: parameter, message: `${parameter} must be a positive integer below 2^53` }]);
    }
    return id;
  }
}
