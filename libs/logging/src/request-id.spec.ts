import { nextRequestId, resolveRequestId } from './request-id';

/** `<16 hex digits of the process>-<sequence number>`. */
const GENERATED_ID = /^([0-9a-f]{16})-([1-9]\d*)$/;

/** A fresh copy of the module, as another process would load it. */
function inAnotherProcess(): typeof import('./request-id') {
  let loaded: typeof import('./request-id') | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<typeof import('./request-id')>('./request-id');
  });
  return loaded!;
}

describe('resolveRequestId', () => {
  it('keeps an acceptable incoming id', () => {
    expect(resolveRequestId('abc-123.x:y@z')).toBe('abc-123.x:y@z');
    expect(resolveRequestId(['first-id', 'second-id'])).toBe('first-id');
  });

  it.each([undefined, '', 'has space', 'line\nbreak', 'x'.repeat(129)])('replaces %p with a generated id', (incoming) => {
    expect(resolveRequestId(incoming)).toMatch(GENERATED_ID);
  });

  it('accepts the ids it generates, so one coming back from another service is kept', () => {
    const generated = nextRequestId();
    expect(resolveRequestId(generated)).toBe(generated);
  });
});

describe('nextRequestId', () => {
  it('numbers the ids of one process in sequence after one prefix', () => {
    const ids = Array.from({ length: 1_000 }, () => nextRequestId());
    expect(new Set(ids).size).toBe(ids.length);
    const parts = ids.map((id) => GENERATED_ID.exec(id)!);
    expect(new Set(parts.map(([, prefix]) => prefix)).size).toBe(1);
    const sequence = parts.map(([, , number]) => Number(number));
    expect(sequence).toEqual(sequence.map((_, index) => sequence[0] + index));
  });

  it('gives each process a prefix of its own, so ids stay unique across processes', () => {
    const here = nextRequestId();
    const there = inAnotherProcess().nextRequestId();
    expect(there).toMatch(GENERATED_ID);
    expect(GENERATED_ID.exec(there)![1]).not.toBe(GENERATED_ID.exec(here)![1]);
  });

  it('only uses letters, digits and a dash, as request ids passed to cursor-runner must', () => {
    expect(nextRequestId()).toMatch(/^[A-Za-z0-9-]+$/);
  });
});
