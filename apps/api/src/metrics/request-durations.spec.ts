import { Histogram, Registry } from 'prom-client';
import { RequestDurations } from './request-durations';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: [string, string, number, number][] = [
  ['GET', '/settings/:name', 200, 0.0004],
  ['GET', '/settings/:name', 200, 0.001],
  ['GET', '/settings/:name', 200, 0.05],
  ['GET', '/settings/:name', 404, 0.002],
  ['PUT', '/settings/:name', 200, 3],
  ['GET', 'unmatched', 404, 0.0001],
];

function registryWithDefaults(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'jarek-va', instance: 'a' });
  return registry;
}

describe('RequestDurations', () => {
  it("exports what prom-client's Histogram exports for the same observations, as text and as JSON", async () => {
    const ours = registryWithDefaults();
    const durations = new RequestDurations('http_request_duration_seconds', 'Request time', BOUNDS, ours);
    const stock = registryWithDefaults();
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Request time',
      labelNames: ['method', 'route', 'status_code'],
      buckets: BOUNDS,
      registers: [stock],
    });
    for (const [method, route, status, seconds] of OBSERVATIONS) {
      durations.observe(method, route, status, seconds);
      histogram.observe({ method, route, status_code: String(status) }, seconds);
    }
    expect(await ours.metrics()).toBe(await stock.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await stock.getMetricsAsJSON());
  });

  it('forgets every series on reset', async () => {
    const registry = registryWithDefaults();
    const durations = new RequestDurations('http_request_duration_seconds', 'Request time', BOUNDS, registry);
    durations.observe('GET', '/x', 200, 0.01);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toMatch(/_count/);
  });
});
