import { HealthIndicatorService } from '@nestjs/terminus';
import type { AppConfig } from '@app/config';
import type { QueueRegistry } from '@app/queue';
import { QueueWorkersIndicator } from './queue-workers.indicator';

/** A registry holding queues in the order given, each consuming or not. */
function registryOf(queues: [name: string, consuming: boolean][]): QueueRegistry {
  return { all: () => queues.map(([name, consuming]) => ({ name, consuming: () => consuming })) } as unknown as QueueRegistry;
}

const config = { health: { checkTimeoutMs: 1_000 } } as unknown as AppConfig;

describe('QueueWorkersIndicator', () => {
  it('lists the queues in the same order however they registered', async () => {
    const results = await Promise.all(
      [
        registryOf([['telegram-updates', true], ['result-deliveries', true]]),
        registryOf([['result-deliveries', true], ['telegram-updates', true]]),
      ].map((registry) => new QueueWorkersIndicator(new HealthIndicatorService(), config, registry).check()),
    );

    for (const result of results) expect(result.queueWorkers).toEqual({ status: 'up', queues: ['result-deliveries', 'telegram-updates'] });
  });

  it('is down naming the queues without a running worker, in that order too', async () => {
    const result = await new QueueWorkersIndicator(
      new HealthIndicatorService(),
      config,
      registryOf([['telegram-updates', false], ['result-deliveries', false], ['audio', true]]),
    ).check();

    expect(result.queueWorkers).toMatchObject({ status: 'down', reason: 'no running worker for result-deliveries, telegram-updates' });
  });
});
