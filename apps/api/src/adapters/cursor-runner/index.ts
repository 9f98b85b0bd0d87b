export { CursorRunnerClientModule } from './cursor-runner-client.module';
export { CursorRunnerClient, type CursorRunnerReply, type CursorRunnerTask } from './cursor-runner.client';
export {
  CURSOR_RUNNER_CALLBACK_PATH,
  HttpCursorRunnerClient,
  callbackUrlFor,
  type HttpCursorRunnerClientOptions,
} from './http-cursor-runner.client';
export {
  CursorRunnerConnectionError,
  CursorRunnerError,
  CursorRunnerHttpError,
  CursorRunnerInvalidResponseError,
  CursorRunnerTimeoutError,
  type CursorRunnerCall,
} from './cursor-runner.errors';
export { REQUEST_ID_MAX_LENGTH, REQUEST_ID_PATTERN, isValidRequestId, newRequestId } from './request-id';
