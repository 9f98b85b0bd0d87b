import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { ADMIN_SECRET_FIELD } from './admin-secret.guard';
import { RequestValidationException } from './request-validation.exception';

/**
 * Nest's ValidationPipe, except that a path or query value declared a number is converted only from
 * the text the number is written as (`String(number)`: `12`, `-3`, `1.5`), else passed on as the
 * text it was for the parameter's own pipe or validator to refuse. Nest converts with `+value`, so
 * `0x1`, `1e0`, `+1`, `01`, `1.0`, ` 1` (`%201`) became 1 before a pipe like ParseRowIdPipe could
 * see what was sent, and reached row 1; `` became 0.
 */
class AppValidationPipe extends ValidationPipe {
  /**
   * `admin_secret` may come in a body or a query (AdminSecretGuard has read it by now): a credential,
   * not a field, so it is left out of what the DTO is made from — neither refused as unknown nor kept
   * on the DTO.
   */
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return super.transform(this.toValidate(metadata) ? withoutAdminSecret(value) : value, metadata);
  }

  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.metatype === Number && typeof value === 'string' && String(Number(value)) !== value) return value;
    return super.transformPrimitive(value, metadata);
  }
}

function withoutAdminSecret(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, ADMIN_SECRET_FIELD)) return value;
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) if (name !== ADMIN_SECRET_FIELD) fields[name] = field;
  return fields;
}

/**
 * The app-wide DTO validation: a property the DTO does not declare is refused, naming it — a typo
 * (`isActive` for `active`) would otherwise be dropped and the request answered 200 without doing
 * what it asked. Failures name their fields.
 */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
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
