import { redactUrl } from './redaction';

describe('redactUrl', () => {
  it.each([
    ['/cursor-runner/callback?secret=s3cr3t', '/cursor-runner/callback?secret=%5BRedacted%5D'],
    ['/telegram/webhook_info?x=1&admin_secret=abc&y=2', '/telegram/webhook_info?x=1&admin_secret=%5BRedacted%5D&y=2'],
    // A '#' is no fragment in a request target: the server's query parser reads past it, so must this.
    ['/a?SECRET=abc#frag', '/a?SECRET=%5BRedacted%5D'],
    ['/cursor-runner/callback?x=1#&secret=s3cr3t', '/cursor-runner/callback?x=1#&secret=%5BRedacted%5D'],
    ['/a?not_secret=abc', '/a?not_secret=abc'],
    ['/a?secret[]=x&secret[]=y&keep=1', '/a?secret[]=%5BRedacted%5D&secret[]=%5BRedacted%5D&keep=1'],
    ['/a?secret%5B0%5D=x', '/a?secret%5B0%5D=%5BRedacted%5D'],
    ['/a?%73ecret_token=x', '/a?%73ecret_token=%5BRedacted%5D'],
    ['/a?api+key=x&api_key', '/a?api+key=%5BRedacted%5D&api_key=%5BRedacted%5D'],
    ['/a?api[key]=x&api.key=y&%61dmin_secret%=z&apikeys=w', '/a?api[key]=%5BRedacted%5D&api.key=%5BRedacted%5D&%61dmin_secret%=%5BRedacted%5D&apikeys=w'],
    ['/a?token=%ZZ&b=%', '/a?token=%5BRedacted%5D&b=%'],
    // A near-miss still carries the secret in its value: redacted too.
    ['/a?a[admin_secret]=x&admin_secret%00=y&adminSecret=z', '/a?a[admin_secret]=%5BRedacted%5D&admin_secret%00=%5BRedacted%5D&adminSecret=%5BRedacted%5D'],
    ['/a?ADMIN-SECRET=x&user.token=y&token_count=3', '/a?ADMIN-SECRET=%5BRedacted%5D&user.token=%5BRedacted%5D&token_count=3'],
    ['/plain', '/plain'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
