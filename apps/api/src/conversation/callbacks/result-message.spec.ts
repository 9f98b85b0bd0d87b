import { escapeHtml, TELEGRAM_MESSAGE_LIMIT } from '../../adapters/telegram';
import {
  buildResultMessage,
  cleanTerminalText,
  ERROR_OUTPUT_LIMIT,
  runFailed,
  normalizeCallbackResult,
  type CallbackResult,
} from './result-message';

const success = (overrides: Partial<CallbackResult> = {}): CallbackResult => ({
  success: true,
  iterations: 2,
  maxIterations: 25,
  output: 'done',
  error: undefined,
  exitCode: 0,
  duration: '1500ms',
  ...overrides,
});

describe('normalizeCallbackResult', () => {
  it.each([
    [true, true],
    ['true', true],
    [1, true],
    ['1', true],
    [false, false],
    ['false', false],
    [0, false],
    ['0', false],
    [null, false],
    [undefined, false],
    ['yes', true],
    ['', false],
  ])('reads success %j as %s', (value, expected) => {
    expect(normalizeCallbackResult({ success: value }).success).toBe(expected);
  });

  it('applies the defaults and reads both spellings', () => {
    expect(normalizeCallbackResult({})).toEqual({
      success: false,
      iterations: undefined,
      maxIterations: 25,
      output: '',
      error: undefined,
      exitCode: undefined,
      duration: undefined,
    });
    expect(normalizeCallbackResult({ exitCode: null }).exitCode).toBeUndefined();
    expect(normalizeCallbackResult({ exitCode: 'x' }).exitCode).toBeUndefined();
    expect(normalizeCallbackResult({ exitCode: 0 }).exitCode).toBe(0);
    expect(normalizeCallbackResult({ max_iterations: '10', exit_code: '3', iterations: '4', duration: '9ms' })).toMatchObject({
      maxIterations: 10,
      exitCode: 3,
      iterations: 4,
      duration: '9ms',
    });
    expect(normalizeCallbackResult({ maxIterations: 7, exitCode: 1, iterations: 'many' })).toMatchObject({
      maxIterations: 7,
      exitCode: 1,
      iterations: undefined,
    });
  });
});

describe('cleanTerminalText', () => {
  it('removes ANSI sequences, normalises line ends and trims', () => {
    expect(cleanTerminalText('\u001b[32mgreen\u001b[0m\r\nnext\u001b[?25l  \n')).toBe('green\nnext');
    expect(cleanTerminalText(undefined)).toBe('');
  });
});

describe('buildResultMessage', () => {
  it('sends only the output in normal mode', () => {
    expect(buildResultMessage(success({ output: 'x < y' }), false)).toEqual({ html: 'x &lt; y', plain: 'x < y', outputCut: false });
  });

  it('adds figures, an output block and warnings in debug mode, as renderable HTML', () => {
    const message = buildResultMessage(success({ output: '<b>out</b>', error: '\u001b[33mwarn\u001b[0m' }), true);
    expect(message.html).toBe(
      [
        '✅ Cursor command completed successfully',
        '📊 Iterations: 2',
        '⏱ Duration: 1500ms',
        '\n📝 Output:\n<pre><code>&lt;b&gt;out&lt;/b&gt;</code></pre>',
        '\n⚠️ Warnings:\n<pre><code>warn</code></pre>',
      ].join('\n'),
    );
    expect(message.plain).toBe(
      '✅ Cursor command completed successfully\n📊 Iterations: 2\n⏱ Duration: 1500ms\n\n📝 Output:\n<b>out</b>\n\n⚠️ Warnings:\nwarn',
    );
  });

  it('leaves the iterations out when the callback has none, as the real cursor-runner sends none', () => {
    const message = buildResultMessage(normalizeCallbackResult({ success: true, output: 'done', duration: '9s' }), true);
    expect(message.plain).toBe('✅ Cursor command completed successfully\n⏱ Duration: 9s\n\n📝 Output:\ndone');
  });

  it('says N/A without a duration', () => {
    expect(buildResultMessage(success({ duration: undefined, output: '' }), true).plain).toContain('⏱ Duration: N/A');
  });

  it('cuts output to 4000 characters in normal mode and 3500 in debug mode, with a note that the whole follows', () => {
    const long = 'é'.repeat(5_000);
    const normal = buildResultMessage(success({ output: long }), false);
    expect(normal.plain).toBe(
      `${'é'.repeat(4_000)}…\n\n✂️ Output cut to 4000 of 5000 characters: the whole output follows as a file.`,
    );
    expect(normal.outputCut).toBe(true);
    const debug = buildResultMessage(success({ output: long }), true);
    expect(debug.plain).toContain(
      `📝 Output (cut):\n${'é'.repeat(3_500)}…\n\n✂️ Output cut to 3500 of 5000 characters: the whole output follows as a file.`,
    );
    expect(debug.outputCut).toBe(true);
    expect(buildResultMessage(success({ output: 'é'.repeat(4_000) }), false).outputCut).toBe(false);
  });

  it('counts the output of a failed run as cut too, and never an empty output', () => {
    expect(buildResultMessage({ ...success({ output: 'o'.repeat(4_001) }), exitCode: 1 }, false).outputCut).toBe(true);
    expect(buildResultMessage({ ...success({ output: '' }), exitCode: 1, error: 'e'.repeat(9_000) }, false).outputCut).toBe(false);
  });

  it('cuts warnings to 500 characters', () => {
    const message = buildResultMessage(success({ output: '', error: 'w'.repeat(600) }), true);
    expect(message.plain.endsWith(`${'w'.repeat(500)}...`)).toBe(true);
  });

  it('never sends an empty message for a successful run without output', () => {
    expect(buildResultMessage(success({ output: '  \u001b[0m ' }), false)).toEqual({
      html: '✅ Done (no output).',
      plain: '✅ Done (no output).',
      outputCut: false,
    });
  });

  it('reports failures with the cleaned error, untruncated unless past the Telegram limit', () => {
    expect(buildResultMessage({ ...success(), success: false, error: '\u001b[31mboom\u001b[0m' }, false).plain).toBe('❌ boom');
    expect(buildResultMessage({ ...success(), success: false, error: undefined }, true).plain).toBe(
      '❌ Cursor command failed\n\nError: Unknown error occurred',
    );
  });

  it('keeps every message within Telegram\'s limit', () => {
    const huge = buildResultMessage(success({ output: 'o'.repeat(5_000), error: 'w'.repeat(5_000) }), true);
    const failure = buildResultMessage({ ...success(), success: false, error: '&'.repeat(10_000) }, false);
    for (const message of [huge, failure]) {
      expect(Array.from(message.plain).length).toBeLessThanOrEqual(TELEGRAM_MESSAGE_LIMIT);
      expect(message.plain.endsWith("\n✂️ Cut to Telegram's limit.")).toBe(true);
    }
    expect(huge.outputCut).toBe(true);
    expect(failure.outputCut).toBe(false);
    expect(failure.html).toBe(escapeHtml(failure.plain));
  });
});

describe('true outcomes: success, exitCode and error together', () => {
  const STDERR = "Error: Authentication required. Please run 'cursor-agent login' first.";
  const outcome = (success: boolean, exitCode: number | undefined, error: string | undefined): CallbackResult => ({
    success,
    iterations: undefined,
    maxIterations: 25,
    output: 'partial output',
    error,
    exitCode,
    duration: '182ms',
  });

  // Every combination of success, exitCode (0, non-zero, absent) and error (none, text), in normal mode.
  it.each([
    [true, 0, undefined, false, 'partial output'],
    [true, 0, STDERR, false, 'partial output'],
    [true, 1, undefined, true, '❌ Failed with exit code 1\npartial output'],
    [true, 1, STDERR, true, `❌ Failed with exit code 1\n${STDERR}\npartial output`],
    [true, undefined, undefined, false, 'partial output'],
    [true, undefined, STDERR, false, 'partial output'],
    [false, 0, undefined, true, '❌ Unknown error occurred'],
    [false, 0, STDERR, true, `❌ ${STDERR}`],
    [false, 127, undefined, true, '❌ Failed with exit code 127\npartial output'],
    [false, 127, STDERR, true, `❌ Failed with exit code 127\n${STDERR}\npartial output`],
    [false, undefined, undefined, true, '❌ Unknown error occurred'],
    [false, undefined, STDERR, true, `❌ ${STDERR}`],
  ])('success %s, exitCode %s, error %s: failed %s, the user reads %j', (ok, exitCode, error, failed, text) => {
    const result = outcome(ok, exitCode, error);
    expect(runFailed(result)).toBe(failed);
    const message = buildResultMessage(result, false);
    expect(message.plain).toBe(text);
    expect(message.html).toBe(escapeHtml(text));
  });

  it('reads a real cursor-runner callback of an agent that exited 1 as a failure', () => {
    const result = normalizeCallbackResult({
      success: true,
      requestId: 'telegram-1764590000-0a1b2c3d',
      repository: 'demo',
      command: ['--model', 'auto', '--print', '--force', 'list files'],
      output: '',
      error: STDERR,
      exitCode: 1,
      duration: '909ms',
      timestamp: '2026-12-01T12:17:37.469Z',
    });
    expect(buildResultMessage(result, false).plain).toBe(`❌ Failed with exit code 1\n${STDERR}`);
    expect(buildResultMessage(result, true).plain).toBe(
      `❌ Cursor command failed with exit code 1\n⏱ Duration: 909ms\n\n⚠️ Error output:\n${STDERR}`,
    );
    expect(buildResultMessage(result, true).html).toContain(`<pre><code>${escapeHtml(STDERR)}</code></pre>`);
  });

  it('cuts the error output of a failed run with a note saying how much there was', () => {
    const stderr = `${'e'.repeat(ERROR_OUTPUT_LIMIT)}TAIL${'f'.repeat(5_000)}`;
    const message = buildResultMessage(outcome(true, 2, stderr), false);
    expect(message.plain).toBe(
      `❌ Failed with exit code 2\n${'e'.repeat(ERROR_OUTPUT_LIMIT)}\n… (error output cut to ${ERROR_OUTPUT_LIMIT} of ${stderr.length} characters)\npartial output`,
    );
    expect(message.plain).not.toContain('TAIL');
  });
});
