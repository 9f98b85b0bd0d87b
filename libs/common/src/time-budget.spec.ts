import { withTimeout } from './time-budget';

describe('withTimeout', () => {
  it('resolves with the work when it settles within the budget', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
  });

  it('rejects with the work’s own error when it fails within the budget', async () => {
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000, () => new Error('late'))).rejects.toThrow('boom');
  });

  it('rejects with onTimeout() once the budget is spent, and a late failure stays handled', async () => {
    let fail!: (error: Error) => void;
    const work = new Promise<never>((_, reject) => (fail = reject));
    await expect(withTimeout(work, 10, () => new Error('timed out after 10 ms'))).rejects.toThrow('timed out after 10 ms');
    const unhandled = jest.fn();
    process.once('unhandledRejection', unhandled);
    fail(new Error('late failure'));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
