import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { getMetadataStorage, ValidateIf } from 'class-validator';
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
   * Refuses the properties the DTO does not declare, read from what was sent: class-transformer
   * skips a name found on every object (`constructor`, `valueOf`, `toString`…), so the
   * instance-side check (`forbidNonWhitelisted`) let those through, dropped. Their problems come
   * first, with the DTO's own. `admin_secret` may come in a body or a query (AdminSecretGuard has
   * read it by now): a credential, not a field, so it is left out of what the DTO is made from —
   * neither refused nor kept on the DTO.
   */
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (!this.toValidate(metadata) || !metadata.metatype || !isFieldBag(value)) return super.transform(value, metadata);
    const fields = withoutAdminSecret(value);
    const undeclared = undeclaredFields(fields, metadata.metatype);
    if (undeclared.length === 0) return super.transform(fields, metadata);
    const problems = await super.transform(fields, metadata).then(
      () => [],
      (error: unknown) => {
        if (error instanceof RequestValidationException) return error.problems;
        throw error;
      },
    );
    throw RequestValidationException.withUndeclared(undeclared, problems);
  }

  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.metatype === Number && typeof value === 'string' && String(Number(value)) !== value) return value;
    return super.transformPrimitive(value, metadata);
  }
}

function isFieldBag(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutAdminSecret(value: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(value, ADMIN_SECRET_FIELD)) return value;
  const fields: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) if (name !== ADMIN_SECRET_FIELD) fields[name] = field;
  return fields;
}

const declaredFieldsOf = new WeakMap<object, ReadonlySet<string>>();

/** The names `fields` holds that `dto` declares no validation for, in the order sent. */
function undeclaredFields(fields: Record<string, unknown>, dto: object): string[] {
  let declared = declaredFieldsOf.get(dto);
  if (!declared) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(dto as new () => object, '', true, false);
    declared = new Set(metadata.map((rule) => rule.propertyName));
    declaredFieldsOf.set(dto, declared);
  }
  return Object.keys(fields).filter((name) => !declared.has(name));
}

/**
 * The app-wide DTO validation: a property the DTO does not declare is refused, naming it — a typo
 * (`isActive` for `active`) would otherwise be dropped and the request answered 200 without doing
 * what it asked. Failures name their fields.
 */
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
