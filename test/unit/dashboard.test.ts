import { readFileSync } from 'node:fs';
import { Registry, collectDefaultMetrics, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import '@chat/platform'; // registers every metric the services export (platform/src/metrics.ts)

// Grafana does not run here (no package for it on the registries these machines reach), so its
// dashboard is checked by loading it: a well-formed dashboard whose every query asks for series
// the services really export, so no panel stays empty because a name drifted.

const dashboard = JSON.parse(readFileSync(new URL('../../infra/observability/grafana/dashboards/chat.json', import.meta.url), 'utf8'));

/** Every metric name the services export, with the series names a histogram adds. */
function exportedNames(): Set<string> {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults, eventLoopMonitoringPrecision: 10 });
  const names = new Set<string>();
  for (const registry of [register, defaults]) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, type } = metric as unknown as { name: string; type: string };
      names.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(name + suffix);
    }
  }
  return names;
}

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or strings. */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const withoutGrouping = withoutStrings.replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...withoutGrouping.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(withoutGrouping.slice(m.index + m[0].length))) // not a function
    .map((m) => m[0])
    .filter((word) => word.includes('_'));
}

describe('the Grafana dashboard', () => {
  it('is a dashboard of panels, each with at least one Prometheus query', () => {
    expect(dashboard).toMatchObject({ uid: 'chat-platform', title: expect.any(String), schemaVersion: expect.any(Number) });
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.datasource.type).toBe('prometheus');
    }
  });

  it('queries only series the services export', () => {
    const exported = exportedNames();
    const used = dashboard.panels.flatMap((panel: any) => panel.targets.flatMap((target: any) => metricsIn(target.expr)));
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name: string) => !exported.has(name))).toEqual([]);
  });
});
