import { escapeHtml } from '../../adapters/telegram';
import {
  buildResultMessage,
  cleanTerminalText,
  normalizeCallbackResult,
  TELEGRAM_MESSAGE_LIMIT,
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
      iterations: 0,
      maxIterations: 25,
      output: '',
      error: undefined,
      exitCode: 0,
      duration: undefined,
    });
    expect(normalizeCallbackResult({ max_iterations: '10', exit_code: '3', iterations: '4', duration: '9ms' })).toMatchObject({
      maxIterations: 10,
      exitCode: 3,
      iterations: 4,
      duration: '9ms',
    });
    expect(normalizeCallbackResult({ maxIterations: 7, exitCode: 1, iterations: 'many' })).toMatchObject({
      maxIterations: 7,
      exitCode: 1,
      iterations: 0,
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
    expect(buildResultMessage(success({ output: 'x < y' }), false)).toEqual({ html: 'x &lt; y', plain: 'x < y' });
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

  it('says N/A without a duration', () => {
    expect(buildResultMessage(success({ duration: undefined, output: '' }), true).plain).toContain('⏱ Duration: N/A');
  });

  it('truncates output to 4000 characters in normal mode and 3500 in debug mode', () => {
    const long = 'é'.repeat(5_000);
    expect(buildResultMessage(success({ output: long }), false).plain).toBe(`${'é'.repeat(4_000)}\n...`);
    const debug = buildResultMessage(success({ output: long }), true);
    expect(debug.plain).toContain(`📝 Output (truncated):\n${'é'.repeat(3_500)}\n...`);
  });

  it('cuts warnings to 500 characters', () => {
    const message = buildResultMessage(success({ output: '', error: 'w'.repeat(600) }), true);
    expect(message.plain.endsWith(`${'w'.repeat(500)}...`)).toBe(true);
  });

  it('never sends an empty message for a successful run without output', () => {
    expect(buildResultMessage(success({ output: '  \u001b[0m ' }), false)).toEqual({
      html: '✅ Done (no output).',
      plain: '✅ Done (no output).',
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
      expect(message.plain.endsWith('\n...')).toBe(true);
    }
    expect(failure.html).toBe(escapeHtml(failure.plain));
  });
});
