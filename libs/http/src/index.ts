export { AdminSecretGuard, ADMIN_SECRET_HEADER } from './admin-secret.guard';
export { AllExceptionsFilter } from './all-exceptions.filter';
export { firstPresentSecret, secretsMatch } from './constant-time';
export { errorBody, INTERNAL_ERROR_SAY, NOT_FOUND_SAY, type ErrorBody } from './error-body';
export { RequestValidationException, type FieldProblem } from './request-validation.exception';
export { createValidationPipe, OptionalNotNull } from './validation';
export { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS, isCredentialQueryParameter } from './credentials';
export { installBodyParsers } from './body-parsers';
export { declaredErrorShape, ErrorOnlyShape, errorShapeOf, inShape, isErrorBody, type ErrorShape } from './error-shape';
export { ApiErrors, ApiWritesSharedDatabase, ERROR_SCHEMA_OF, ERROR_SCHEMAS } from './error-schemas';
export { JSON_MAX_DEPTH } from './json-depth';
export { installMethodNotAllowed } from './method-not-allowed';
export { ParseRowIdPipe } from './parse-id.pipe';
export { answerClientError, answerRoutingError, refuseConnectRequests } from './platform-errors';
export { BODY_LIMIT_NAME, BodyLimit, installRouteBodyLimits } from './route-body-limit';
export { BODY_DEADLINE_CHECK_MS, installBodyDeadline, refuseBodyStillArriving } from './body-deadline';
export { AddRouteConfig } from './route-config';
export {
  closeAfterAnswers,
  onRequestAnswered,
  onRequestArrived,
  refuseNestMiddleware,
  socketAnswerOf,
  unfinishedResponses,
  type AnswerObserver,
  type RequestObserver,
} from './request-hooks';
