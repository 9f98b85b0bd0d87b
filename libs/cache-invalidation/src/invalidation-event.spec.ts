import { randomUUID } from 'node:crypto';
import { parseInvalidationEvent } from './invalidation-event';

const valid = {
  v: 1,
  id: randomUUID(),
  origin: 'host:1:abcd',
  app: 'jarek-va',
  sentAt: 1_700_000_000_000,
  targets: [
    { namespace: 'settings', keys: ['setting:debug'] },
    { namespace: 'http', tags: ['settings'] },
    { namespace: 'tasks', all: true },
  ],
};

describe('parseInvalidationEvent', () => {
  it('accepts a well-formed version 1 event as it is', () => {
    expect(parseInvalidationEvent(JSON.stringify(valid))).toEqual({ ok: true, event: valid });
  });

  it.each([
    ['not JSON', '{"v":', 'not JSON'],
    ['a JSON array', '[]', 'event: '],
    ['an unknown version', JSON.stringify({ ...valid, v: 2 }), 'v: '],
    ['a missing origin', JSON.stringify({ ...valid, origin: undefined }), 'origin: '],
    ['an extra field (a value riding along)', JSON.stringify({ ...valid, value: 'x' }), 'event: '],
    ['no targets', JSON.stringify({ ...valid, targets: [] }), 'targets: '],
    ['a bad namespace', JSON.stringify({ ...valid, targets: [{ namespace: 'Bad:ns', all: true }] }), 'targets.0.namespace: '],
    ['keys that are not a list', JSON.stringify({ ...valid, targets: [{ namespace: 'a', keys: 'k' }] }), 'targets.0.keys: '],
    ['all: false', JSON.stringify({ ...valid, targets: [{ namespace: 'a', all: false }] }), 'targets.0.all: '],
    ['an id that is not a UUID', JSON.stringify({ ...valid, id: 'x' }), 'id: '],
  ])('rejects %s with a reason naming the field', (_case, message, reason) => {
    const parsed = parseInvalidationEvent(message);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason.startsWith(reason)).toBe(true);
  });
});
