import { z } from 'zod';

/** The part of a Grafana dashboard's JSON that says what each panel asks Prometheus. */
const Target = z.object({ expr: z.string().min(1), refId: z.string() });
const Panel = z.object({ type: z.string(), title: z.string(), targets: z.array(Target).optional() });
const DashboardJson = z.object({ uid: z.string(), title: z.string(), panels: z.array(Panel) });

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

/** Every query of every panel of a dashboard (rows hold no queries); throws when the JSON is not a dashboard. */
export function panelQueries(json: unknown): PanelQuery[] {
  const dashboard = DashboardJson.parse(json);
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      dashboard: dashboard.uid,
      panel: panel.title,
      refId: target.refId,
      expr: target.expr,
    })),
  );
}

/** The panels (not rows) of a dashboard that have no query. */
export function panelsWithoutQueries(json: unknown): string[] {
  return DashboardJson.parse(json)
    .panels.filter((panel) => panel.type !== 'row' && (panel.targets ?? []).length === 0)
    .map((panel) => panel.title);
}

/**
 * A panel's PromQL as Grafana would send it: the dashboard variables replaced by what they are over a range of
 * `rangeSeconds` (all tenants, the rate window of a 5 s scrape interval).
 */
export function resolveVariables(expr: string, rangeSeconds: number): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', `${rangeSeconds}s`)
    .replaceAll(/\$\{?tenant\}?/g, '.*');
}

/**
 * A query without its trailing `or vector(0)`: a stat panel shows 0 rather than "No data" with it, but a test must see
 * the series the query is about.
 */
export function withoutZeroFallback(expr: string): string {
  return expr.replace(/\s+or\s+vector\(0\)\s*$/, '');
}
