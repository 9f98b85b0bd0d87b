import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { pollUntil } from './support/poll';
import { removeRedisKeys } from './support/redis-keys';
import { startRedisServer, type RedisServerProcess } from './support/redis-server';
import { startTestApp, testRedisUrl, type TestApp } from './support/test-app';

const DASHBOARD = path.join(__dirname, '..', 'deploy', 'grafana', 'jarek-va.json');
const ALERT_RULES = path.join(__dirname, '..', 'deploy', 'prometheus', 'alerts.yml');

/** Labels Prometheus adds to every series it scrapes (the target's), not the app. */
const SCRAPE_LABELS = new Set(['instance', 'job']);
/** Series Prometheus makes of each scrape itself, with only the scrape labels. */
const SCRAPE_SERIES = new Set(['up']);
const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** Each exported series name → its label names → the values seen. */
type Exported = Map<string, Map<string, Set<string>>>;

function parseExposition(text: string): Exported {
  const exported: Exported = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!match) continue;
    const labels = exported.get(match[1]) ?? new Map<string, Set<string>>();
    exported.set(match[1], labels);
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels.set(name, (labels.get(name) ?? new Set()).add(value));
    }
  }
  return exported;
}

interface Query {
  /** The dashboard panel or the alert rule it is from. */
  panel: string;
  expr: string;
  /** The labels of the result it shows: the panel's legend, the rule's annotations. */
  shownLabels: string[];
}

/** What one PromQL expression reads: series names, grouping labels and label matchers. */
interface QueryUses {
  metrics: string[];
  groupingLabels: string[];
  matchers: { metric: string; label: string; operator: string; value: string }[];
}

function usesOf(expr: string): QueryUses {
  const groupingLabels: string[] = [];
  let rest = expr.replace(/\b(?:by|without)\s*\(([^)]*)\)/g, (_all, labels: string) => {
    groupingLabels.push(...labels.split(',').map((label) => label.trim()).filter(Boolean));
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const matchers: QueryUses['matchers'] = [];
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g, (_all, metric: string, selector: string) => {
    for (const [, label, operator, value] of selector.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      matchers.push({ metric, label, operator, value });
    }
    return ` ${metric} `;
  });
  rest = rest.replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const metrics = [...rest.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter(([, name, call]) => !call && !PROMQL_KEYWORDS.has(name))
    .map(([, name]) => name);
  return { metrics: [...new Set(metrics)], groupingLabels, matchers };
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string; legendFormat?: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      expr: target.expr,
      shownLabels: [...(target.legendFormat ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map(([, label]) => label),
    })),
  );
}

function alertRules(): (Query & { labels: Record<string, string> })[] {
  const rules = parse(fs.readFileSync(ALERT_RULES, 'utf8')) as {
    groups: { rules: { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
  };
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      panel: `alert ${rule.alert}`,
      expr: rule.expr,
      shownLabels: [...Object.values(rule.annotations ?? {}).join(' ').matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map(([, label]) => label),
      labels: rule.labels ?? {},
    })),
  );
}

/** What in `queries` reads a series, a label or a label value the app's `/metrics` does not export. */
function problemsOf(queries: Query[], exported: Exported): string[] {
  const problems: string[] = [];
  for (const query of queries) {
    const uses = usesOf(query.expr);
    if (uses.metrics.length === 0) problems.push(`${query.panel}: no series in ${query.expr}`);
    for (const metric of uses.metrics) {
      if (SCRAPE_SERIES.has(metric)) continue;
      const labels = exported.get(metric);
      if (!labels) {
        problems.push(`${query.panel}: ${metric} is not exported`);
        continue;
      }
      for (const label of [...uses.groupingLabels, ...query.shownLabels]) {
        if (!labels.has(label) && !SCRAPE_LABELS.has(label)) problems.push(`${query.panel}: ${metric} has no label ${label}`);
      }
    }
    for (const { metric, label, operator, value } of uses.matchers) {
      if (SCRAPE_SERIES.has(metric)) continue;
      const values = exported.get(metric)?.get(label);
      if (!values) {
        problems.push(`${query.panel}: ${metric} has no label ${label}`);
        continue;
      }
      // Literal values (and literal alternatives of a regex) must be ones the app exports.
      const literals = operator === '=' ? [value] : operator === '=~' && /^[\w|]+$/.test(value) ? value.split('|') : [];
      for (const literal of literals) {
        if (!values.has(literal)) problems.push(`${query.panel}: ${metric}{${label}} never has the value ${literal}`);
      }
    }
  }
  return problems;
}

describe('deploy/grafana/jarek-va.json against /metrics of a booted app', () => {
  const prefix = `grafana-${process.pid}`;
  let app: TestApp;
  let exported: Exported;

  beforeAll(async () => {
    app = await startTestApp({ env: { REDIS_URL: testRedisUrl(), CACHE_KEY_PREFIX: prefix, QUEUE_PREFIX: `bull:${prefix}` } });
    // One answered and one unmatched request, so the per-route series exist.
    await fetch(`${app.baseUrl}/health/live`);
    await fetch(`${app.baseUrl}/no-such-route`);
    exported = parseExposition(await (await fetch(`${app.baseUrl}/metrics`)).text());
  });
  afterAll(async () => {
    await app.close();
    await removeRedisKeys(testRedisUrl(), prefix);
    await removeRedisKeys(testRedisUrl(), `bull:${prefix}`);
  });

  it('queries every family the operators need', () => {
    const queried = new Set(dashboardQueries().flatMap((query) => usesOf(query.expr).metrics));
    expect([...queried].sort()).toEqual(
      expect.arrayContaining([
        'cache_lookups_total',
        'cache_l2_errors_total',
        'cache_l2_circuit_open',
        'cache_invalidation_events_total',
        'cache_invalidation_lag_seconds_bucket',
        'queue_jobs',
        'queue_job_outcomes_total',
        'http_request_duration_seconds_bucket',
        'http_request_duration_seconds_count',
      ]),
    );
  });

  it('exports no label Prometheus sets for the scrape target itself (it would rename it exported_*)', () => {
    const clashes = [...exported].flatMap(([metric, labels]) => [...labels.keys()].filter((label) => SCRAPE_LABELS.has(label)).map((label) => `${metric}{${label}}`));
    expect(clashes).toEqual([]);
    expect(exported.get('cache_l2_circuit_open')?.get('instance_id')).toEqual(new Set([expect.any(String)]));
  });

  it('reads only series /metrics exports, with the labels and label values it matches on', () => {
    expect(problemsOf(dashboardQueries(), exported)).toEqual([]);
  });

  it('alerts on what operators act on, each rule reading only what /metrics exports, with a severity', () => {
    const rules = alertRules();
    expect(rules.map((rule) => rule.panel)).toEqual(
      expect.arrayContaining(['alert JarekVaDown', 'alert JarekVaRedisBreakerOpen', 'alert JarekVaJobsFailed', 'alert JarekVaServerErrors']),
    );
    expect(problemsOf(rules, exported)).toEqual([]);
    for (const rule of rules) expect([rule.panel, rule.labels.severity]).toEqual([rule.panel, expect.stringMatching(/^(critical|warning)$/)]);
    // The check itself: a rule reading a label the series lacks is found.
    expect(problemsOf([{ panel: 'alert Broken', expr: 'max by (pod) (cache_l2_circuit_open)', shownLabels: ['pod'] }], exported)).toEqual([
      'alert Broken: cache_l2_circuit_open has no label pod',
      'alert Broken: cache_l2_circuit_open has no label pod',
    ]);
  });

  it('loads the alert rules from the Prometheus configuration', () => {
    const config = parse(fs.readFileSync(path.join(path.dirname(ALERT_RULES), 'prometheus.yml'), 'utf8')) as { rule_files?: string[] };
    expect(config.rule_files).toEqual(['alerts.yml']);
  });

  it('sees the requests it made, by route template, in the per-route histogram', () => {
    const routes = exported.get('http_request_duration_seconds_count')?.get('route');
    expect(routes).toEqual(new Set(['/health/live', 'unmatched']));
  });
});

describe('/metrics while Redis is frozen', () => {
  let redis: RedisServerProcess;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startTestApp({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    redis.process.kill('SIGCONT');
    await app.close();
    await redis.stop();
  });

  it('answers within the queue-count bound, leaving the queue depth out until Redis is back', async () => {
    const scrape = async () => {
      const started = Date.now();
      const answer = await fetch(`${app.baseUrl}/metrics`);
      return { status: answer.status, text: await answer.text(), elapsedMs: Date.now() - started };
    };
    expect((await scrape()).text).toMatch(/^queue_jobs\{queue="telegram-updates",state="waiting"/m);

    redis.process.kill('SIGSTOP');
    const frozen = await scrape();
    expect(frozen.status).toBe(200);
    expect(frozen.text).not.toMatch(/^queue_jobs\{/m);
    expect(frozen.text).toMatch(/^http_request_duration_seconds_count\{/m);
    // The queues' counts, read together, bounded by 1 s, plus the rest of the scrape: within the
    // budget of every request needing Redis (REDIS_COMMAND_TIMEOUT_MS + 1 s).
    expect(frozen.elapsedMs).toBeLessThan(2_000);

    redis.process.kill('SIGCONT');
    const back = await pollUntil(scrape, (result) => /^queue_jobs\{/m.test(result.text), 5_000);
    expect(back.value.text).toMatch(/^queue_jobs\{queue="telegram-updates",state="waiting"/m);
  });
});
