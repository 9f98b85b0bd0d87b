/**
 * The parameters of cursor-runner's callback that are read (docs/cursor-runner.md, "Callback"), in
 * both spellings. Anything else — including the `secret` query parameter — is dropped here, so it
 * can reach neither the message nor a log line.
 */
export const PERMITTED_CALLBACK_PARAMS = [
  'success',
  'requestId',
  'request_id',
  'repository',
  'branchName',
  'branch_name',
  'iterations',
  'maxIterations',
  'max_iterations',
  'output',
  'error',
  'exitCode',
  'exit_code',
  'duration',
  'timestamp',
] as const;

export interface CallbackParams {
  /** `requestId`, else `request_id`; `undefined` when blank or missing. Not yet validated. */
  requestId: string | undefined;
  /** The permitted parameters, body over query (Rails `params`). */
  fields: Record<string, unknown>;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function requestIdOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return value;
}

/**
 * Reads the callback's parameters from the query string and the JSON body (the body wins, as in
 * Rails). A body that is not an object (an array, a string) carries no parameters.
 */
export function readCallbackParams(query: unknown, body: unknown): CallbackParams {
  const merged = { ...asRecord(query), ...asRecord(body) };
  const fields: Record<string, unknown> = {};
  for (const name of PERMITTED_CALLBACK_PARAMS) {
    if (Object.prototype.hasOwnProperty.call(merged, name)) fields[name] = merged[name];
  }
  return { requestId: requestIdOf(fields.requestId) ?? requestIdOf(fields.request_id), fields };
}
