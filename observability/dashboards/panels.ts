import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

// The builders MetaSync's dashboards share: panels on the metric catalog, with the shared variables.

const datasource = { type: 'prometheus', uid: '${datasource}' };
/** The tenant filter for metrics that carry a `tenant` label. */
export const TENANT = 'tenant=~"$tenant"';
/** Grafana picks the rate window from the scrape interval (5 s in the stack): at least four scrapes. */
export const RATE = '$__rate_interval';

export interface Query {
  expr: string;
  legend: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Grid width out of 24 (default 12). */
  width?: number;
}

export const q = (expr: string, legend: string): Query => ({ expr, legend });

/** The p-th quantile of a histogram per `by` labels, over the rate window. */
export function quantile(p: number, histogram: string, by: string[], selector = ''): string {
  const labels = ['le', ...by].join(', ');
  return `histogram_quantile(${p}, sum by (${labels}) (rate(${histogram}_bucket${selector ? `{${selector}}` : ''}[${RATE}])))`;
}

function targets(queries: Query[]): DataqueryBuilder[] {
  return queries.map((query, index) =>
    new DataqueryBuilder()
      .datasource(datasource)
      .refId(String.fromCharCode(65 + index))
      .expr(query.expr)
      .legendFormat(query.legend)
      .range(),
  );
}

export function timeseries(spec: PanelSpec): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(spec.title)
    .description(spec.description)
    .datasource(datasource)
    .unit(spec.unit)
    .min(0)
    .fillOpacity(10)
    .span(spec.width ?? 12)
    .height(8)
    .targets(targets(spec.queries));
}

export function stat(spec: PanelSpec): StatPanel {
  return new StatPanel()
    .title(spec.title)
    .description(spec.description)
    .datasource(datasource)
    .unit(spec.unit)
    .span(spec.width ?? 4)
    .height(4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .targets(targets(spec.queries));
}

/** A dashboard with the shared variables, tags and time settings; `rows` are titled groups of panels. */
export function dashboard(
  uid: string,
  title: string,
  description: string,
  rows: [string, (TimeseriesPanel | StatPanel)[]][],
): Dashboard {
  const builder = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['metasync', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('tenant')
        .label('Tenant')
        .datasource(datasource)
        .query('label_values(tenant)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  for (const [rowTitle, panels] of rows) {
    builder.withRow(new RowBuilder(rowTitle));
    for (const panel of panels) builder.withPanel(panel);
  }
  return builder.build();
}
