import { jsonNestingExceeds } from './json-depth';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const nestedObjects = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('jsonNestingExceeds', () => {
  it('allows nesting up to the limit and refuses one level more, for objects and arrays alike', () => {
    expect(jsonNestingExceeds(bytes(nestedObjects(4)), 4)).toBe(false);
    expect(jsonNestingExceeds(bytes(nestedObjects(5)), 4)).toBe(true);
    expect(jsonNestingExceeds(bytes(nestedArrays(4)), 4)).toBe(false);
    expect(jsonNestingExceeds(bytes(`{"a":[{"b":[1]}]}`), 3)).toBe(true);
  });

  it('counts depth, not the number of containers', () => {
    expect(jsonNestingExceeds(bytes(JSON.stringify(Array.from({ length: 1000 }, () => ({ a: [1] })))), 3)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestingExceeds(bytes(JSON.stringify({ text: '[[[[[[{{{{{{' })), 1)).toBe(false);
    expect(jsonNestingExceeds(bytes(JSON.stringify({ text: 'say \\"[[[[ "{{{{' })), 1)).toBe(false);
    expect(jsonNestingExceeds(bytes(JSON.stringify({ text: 'é ü 🎤 [[[[' })), 1)).toBe(false);
  });

  it('scans a 10 000-level body without recursion', () => {
    expect(jsonNestingExceeds(bytes(nestedObjects(10_000)), 64)).toBe(true);
  });
});
