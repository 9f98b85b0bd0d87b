import { BatchedDestination, type BufferDestination } from './batched-destination';

/** A destination that records each buffer it is handed and each flush. */
class RecordingDestination implements BufferDestination {
  readonly chunks: string[] = [];
  readonly flushes: string[] = [];
  write(chunk: Buffer): boolean {
    expect(Buffer.isBuffer(chunk)).toBe(true);
    this.chunks.push(chunk.toString('utf8'));
    return true;
  }
  flush(callback?: (error?: Error | null) => void): void {
    this.flushes.push('flush');
    callback?.(null);
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchedDestination', () => {
  let target: RecordingDestination;
  let batched: BatchedDestination;

  beforeEach(() => {
    target = new RecordingDestination();
    batched = new BatchedDestination(target);
  });
  afterEach(() => batched.detach());

  it("hands one turn's lines on as one buffer, in order, once the turn ends", async () => {
    batched.write('{"n":1}\n');
    batched.write('{"n":2,"text":"ünï 😀"}\n');
    batched.write('{"n":3}\n');
    expect(target.chunks).toEqual([]);

    await nextTurn();
    expect(target.chunks).toEqual(['{"n":1}\n{"n":2,"text":"ünï 😀"}\n{"n":3}\n']);

    batched.write('{"n":4}\n');
    await nextTurn();
    expect(target.chunks).toEqual(['{"n":1}\n{"n":2,"text":"ünï 😀"}\n{"n":3}\n', '{"n":4}\n']);
  });

  it('hands on what waits before flushing, synchronously or not', () => {
    batched.write('{"n":1}\n');
    batched.flushSync();
    expect(target.chunks).toEqual(['{"n":1}\n']);
    expect(target.flushes).toEqual([]);

    batched.write('{"n":2}\n');
    const flushed = jest.fn();
    batched.flush(flushed);
    expect(target.chunks).toEqual(['{"n":1}\n', '{"n":2}\n']);
    expect(flushed).toHaveBeenCalledWith(null);
  });

  it('writes nothing for a turn whose lines were already flushed', async () => {
    batched.write('{"n":1}\n');
    batched.flushSync();
    await nextTurn();
    expect(target.chunks).toEqual(['{"n":1}\n']);
  });
});
