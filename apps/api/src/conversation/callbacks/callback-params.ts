import { TERMINAL_SEQUENCE } from './result-message';

/**
 * The parameters of cursor-runner's callback that are read (docs/cursor-runner.md, "Callback contract"), in
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
  /** The permitted parameters, body over query (Rails `params`); the agent's texts without control characters. */
  fields: Record<string, unknown>;
}

/** The agent's texts: what it printed to stdout and stderr. */
const AGENT_TEXTS = ['output', 'error'] as const;

/** C0 control characters but tab, line feed and carriage return; DEL; the C1 control characters. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g; // eslint-disable-line no-control-regex -- the characters this pattern exists to find

/**
 * `text` without terminal sequences and C0 control characters other than tab and line ends. The result
 * is stored as JSON twice (the delivery job, the kept result), which writes a control character as
 * `\u00XX`, six bytes for one: an agent that printed a UTF-16 file (a NUL every other byte) made 10 MiB
 * of output 60 MB in each, and writes that size stalled Redis past every command's budget. A chat shows
 * none of these characters, and a file of them is unreadable as text.
 */
function withoutControlCharacters(text: string): string {
  return text.replace(TERMINAL_SEQUENCE, '').replace(CONTROL_CHARACTERS, '');
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
  for (const name of AGENT_TEXTS) {
    const text = fields[name];
    if (typeof text === 'string') fields[name] = withoutControlCharacters(text);
  }
  return { requestId: requestIdOf(fields.requestId) ?? requestIdOf(fields.request_id), fields };
}
