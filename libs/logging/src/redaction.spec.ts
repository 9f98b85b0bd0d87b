import { redactUrl } from './redaction';
import { resolveRequestId } from './request-id';

describe('redactUrl', () => {
  it.each([
    ['/cursor-runner/callback?secret=s3cr3t', '/cursor-runner/callback?secret=%5BRedacted%5D'],
    ['/telegram/webhook_info?x=1&admin_secret=abc&y=2', '/telegram/webhook_info?x=1&admin_secret=%5BRedacted%5D&y=2'],
    ['/a?SECRET=abc#frag', '/a?SECRET=%5BRedacted%5D#frag'],
    ['/a?not_secret=abc', '/a?not_secret=abc'],
    ['/a?secret[]=x&secret[]=y&keep=1', '/a?secret[]=%5BRedacted%5D&secret[]=%5BRedacted%5D&keep=1'],
    ['/a?secret%5B0%5D=x', '/a?secret%5B0%5D=%5BRedacted%5D'],
    ['/a?%73ecret_token=x', '/a?%73ecret_token=%5BRedacted%5D'],
    ['/a?api+key=x&api_key', '/a?api+key=x&api_key=%5BRedacted%5D'],
    ['/a?token=%ZZ&b=%', '/a?token=%5BRedacted%5D&b=%'],
    ['/plain', '/plain'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('resolveRequestId', () => {
  it('keeps an acceptable incoming id', () => {
    expect(resolveRequestId('abc-123.x:y@z')).toBe('abc-123.x:y@z');
  });

  it.each([undefined, '', 'has space', 'line\nbreak', 'x'.repeat(129)])('replaces %p with a UUID', (incoming) => {
    expect(resolveRequestId(incoming)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
