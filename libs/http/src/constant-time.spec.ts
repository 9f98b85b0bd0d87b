import { firstPresentSecret, secretsMatch } from './constant-time';

describe('secretsMatch', () => {
  it('accepts the exact secret', () => {
    expect(secretsMatch('s3cret', 's3cret')).toBe(true);
  });

  it.each([
    ['wrong', 's3cret'],
    ['s3cret ', 's3cret'],
    ['s3cre', 's3cret'],
    ['', 's3cret'],
    [undefined, 's3cret'],
    [null, 's3cret'],
    ['', ''],
  ])('refuses %p against %p', (presented, expected) => {
    expect(secretsMatch(presented, expected)).toBe(false);
  });
});

describe('firstPresentSecret', () => {
  it('takes the first non-empty string, the first of a repeated header, else nothing', () => {
    expect(firstPresentSecret(undefined, '', ['from-list', 'second'], 'later')).toBe('from-list');
    expect(firstPresentSecret(42, null, { secret: 'x' }, 'plain')).toBe('plain');
    expect(firstPresentSecret(undefined, '', [])).toBeUndefined();
  });
});
