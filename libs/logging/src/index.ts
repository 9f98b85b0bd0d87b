export { installAccessLog } from './access-log';
export { createAppLogger, type LoggingOptions } from './app-logger';
export { APP_LOGGER, LoggingModule } from './logging.module';
export { REDACTED_HEADERS, REDACTED_QUERY_PARAMETERS, redactUrl } from './redaction';
export { genRequestId, installRequestIdHeader, REQUEST_ID_HEADER, resolveRequestId } from './request-id';
