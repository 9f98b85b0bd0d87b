export { AdminSecretGuard, ADMIN_SECRET_HEADER } from './admin-secret.guard';
export { AllExceptionsFilter } from './all-exceptions.filter';
export { firstPresentSecret, secretsMatch } from './constant-time';
export { errorBody, INTERNAL_ERROR_SAY, NOT_FOUND_SAY, type ErrorBody } from './error-body';
export { RequestValidationException, type FieldProblem } from './request-validation.exception';
export { createValidationPipe } from './validation';
export { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS } from './credentials';
export { BODY_LIMIT_NAME, BodyLimit, installRouteBodyLimits } from './route-body-limit';
