import type { Registry } from 'prom-client';

interface Series {
  labels: { method: string; route: string; status_code: string };
  /** Observations per bucket, not cumulative: `counts[i]` fell in (bounds[i-1], bounds[i]]. */
  counts: number[];
  sum: number;
  count: number;
}

/** One exported sample, in the shape prom-client's registry formats (the series' labels as shared labels). */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  /** Bucket samples carry prom-client's "no exemplar". */
  exemplar?: null;
}

/**
 * `http_request_duration_seconds{method,route,status_code}` as prom-client's `Histogram` exports
 * it, observed on every answer at a fraction of its cost: prom-client's `observe` validates and
 * hashes the label object and allocates per call, which was a tenth of a cached route's CPU. Here
 * a request finds its series through maps keyed by route, method and status code — strings and
 * a number the request already holds — and adds to plain counters; the export, at scrape time,
 * builds what prom-client would.
 */
export class RequestDurations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // The registry needs only what prom-client's own metrics offer it: name, help, type, aggregator, get, reset.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(method: string, route: string, statusCode: number, seconds: number): void {
    let byMethod = this.series.get(route);
    if (!byMethod) this.series.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(statusCode);
    if (!series) {
      series = { labels: { method, route, status_code: String(statusCode) }, counts: this.bounds.map(() => 0), sum: 0, count: 0 };
      byStatus.set(statusCode, series);
    }
    for (let bucket = 0; bucket < this.bounds.length; bucket += 1) {
      if (seconds <= this.bounds[bucket]) {
        series.counts[bucket] += 1;
        break;
      }
    }
    series.sum += seconds;
    series.count += 1;
  }

  /** What the registry formats for the text exposition: each sample's series labels kept apart, as prom-client does. */
  getForPromString(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const byMethod of this.series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const series of byStatus.values()) {
          let cumulative = 0;
          this.bounds.forEach((bound, index) => {
            cumulative += series.counts[index];
            values.push({ labels: { le: bound }, sharedLabels: series.labels, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
          });
          values.push(
            { labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_bucket`, exemplar: null },
            { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` },
            { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` },
          );
        }
      }
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** The JSON export: each sample's labels merged, as prom-client's `get` returns them. */
  async get(): Promise<{ name: string; help: string; type: string; values: Omit<Sample, 'sharedLabels'>[]; aggregator: string }> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...sample }) => ({ ...sample, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.series.clear();
  }
}
