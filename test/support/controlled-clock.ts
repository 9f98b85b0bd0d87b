/**
 * Date.now and performance.now (lru-cache's clock) under a unit test's control; restore them with
 * `jest.restoreAllMocks()`. lru-cache reads its clock at most once per millisecond, so a read right
 * after `advance` first waits out that millisecond.
 */
export function controlledClock(start: number): { advance(ms: number): Promise<void> } {
  let now = start;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  jest.spyOn(performance, 'now').mockImplementation(() => now);
  return {
    advance: async (ms: number) => {
      now += ms;
      await new Promise((resolve) => setTimeout(resolve, 2));
    },
  };
}
