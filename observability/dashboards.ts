/**
 * MetaSync's Grafana dashboards, built with Grafana's foundation SDK on the metric catalog (docs/observability.md).
 * `npm run dashboards` writes them as JSON into observability/grafana/ with the file-provisioning YAML; a unit test
 * checks the committed files are what this code makes, and test/integration/dashboards.test.ts runs every panel's
 * query against the live Prometheus.
 *
 * Every panel uses the `datasource` variable (any Prometheus data source of the Grafana it is imported into), and
 * the panels on metrics that carry a tenant filter on the `tenant` variable (all tenants by default).
 */
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

const datasource = { type: 'prometheus', uid: '${datasource}' };
/** The tenant filter for metrics that carry a `tenant` label. */
const TENANT = 'tenant=~"$tenant"';
/** Grafana picks the rate window from the scrape interval (5 s in the stack): at least four scrapes. */
const RATE = '$__rate_interval';

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Grid width out of 24 (default 12). */
  width?: number;
}

const q = (expr: string, legend: string): Query => ({ expr, legend });

/** The p-th quantile of a histogram per `by` labels, over the rate window. */
function quantile(p: number, histogram: string, by: string[], selector = ''): string {
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

function timeseries(spec: PanelSpec): TimeseriesPanel {
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

function stat(spec: PanelSpec): StatPanel {
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
function dashboard(
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

function overview(): Dashboard {
  return dashboard(
    'metasync-overview',
    'MetaSync / Platform overview',
    'Every process up, the API, the flows at a glance, Kafka lag and dead letters, the Temporal workers.',
    [
      [
        'Health',
        [
          stat({
            title: 'Targets down',
            description: 'Scrape targets that do not answer (alert TargetDown). 0 is healthy.',
            unit: 'none',
            queries: [q('sum(1 - up)', 'down')],
          }),
          stat({
            title: 'Assets written, last hour',
            description: 'Assets written to the lake by ingestion in the last hour, all phases.',
            unit: 'short',
            queries: [q(`round(sum(increase(metasync_assets_written_total{${TENANT}}[1h]))) or vector(0)`, 'assets')],
          }),
          stat({
            title: 'API 5xx ratio',
            description: 'Share of API requests answered with a server error (alert ApiErrorRatioHigh above 5%).',
            unit: 'percentunit',
            queries: [
              q(
                `(sum(rate(metasync_api_requests_total{status=~"5.."}[${RATE}])) or vector(0)) / sum(rate(metasync_api_requests_total[${RATE}]))`,
                '5xx',
              ),
            ],
          }),
          stat({
            title: 'Incident latency p99',
            description: 'Kafka produce to asset updated, all sources (alert IncidentLatencyHigh above 1 s).',
            unit: 's',
            queries: [q(quantile(0.99, 'metasync_incident_latency_seconds', []), 'p99')],
          }),
          stat({
            title: 'Consumer lag',
            description: 'Messages not yet consumed, all groups and topics.',
            unit: 'short',
            queries: [q('sum(metasync_kafka_consumer_lag)', 'lag')],
          }),
          stat({
            title: 'Dead letters, last hour',
            description: 'Messages and bodies dead-lettered in the last hour, all kinds (alert DeadLettersRising).',
            unit: 'short',
            queries: [q('round(sum(increase(metasync_dead_letters_total[1h]))) or vector(0)', 'dead letters')],
          }),
          timeseries({
            title: 'Targets up',
            description: 'Each scrape target: 1 up, 0 down (the Prometheus targets page says why).',
            unit: 'none',
            width: 24,
            queries: [q('up', '{{job}} {{instance}}')],
          }),
        ],
      ],
      [
        'Flows',
        [
          timeseries({
            title: 'Assets written per second',
            description: 'Assets written to the lake by ingestion, per phase.',
            unit: 'ops',
            queries: [q(`sum by (phase) (rate(metasync_assets_written_total{${TENANT}}[${RATE}]))`, '{{phase}}')],
          }),
          timeseries({
            title: 'Incidents applied per second',
            description: 'Incident events applied to their assets, per tenant.',
            unit: 'ops',
            queries: [q(`sum by (tenant) (rate(metasync_incidents_applied_total{${TENANT}}[${RATE}]))`, '{{tenant}}')],
          }),
          timeseries({
            title: 'Outbound events per second',
            description: 'Effective changes produced to the tenants’ outbound topics, per type.',
            unit: 'ops',
            queries: [q(`sum by (type) (rate(metasync_outbound_events_total{${TENANT}}[${RATE}]))`, '{{type}}')],
          }),
          timeseries({
            title: 'Dead letters per second',
            description: 'Rejected input kept with its reason, per kind (alert DeadLettersRising).',
            unit: 'ops',
            queries: [q(`sum by (kind) (rate(metasync_dead_letters_total[${RATE}]))`, '{{kind}}')],
          }),
        ],
      ],
      [
        'API',
        [
          timeseries({
            title: 'API requests per second by status',
            description: 'All routes.',
            unit: 'reqps',
            queries: [q(`sum by (status) (rate(metasync_api_requests_total[${RATE}]))`, '{{status}}')],
          }),
          timeseries({
            title: 'API latency p95 by route',
            description: 'Per Fastify route pattern.',
            unit: 's',
            queries: [q(quantile(0.95, 'metasync_api_request_duration_seconds', ['route']), '{{route}}')],
          }),
        ],
      ],
      [
        'Processes and Temporal',
        [
          timeseries({
            title: 'CPU per process',
            description: 'CPU seconds per second of each MetaSync process (1 = one core).',
            unit: 'percentunit',
            queries: [q(`rate(process_cpu_seconds_total{job=~"metasync-.*"}[${RATE}])`, '{{job}} {{instance}}')],
          }),
          timeseries({
            title: 'Heap used per process',
            description: 'Node.js heap in use.',
            unit: 'bytes',
            queries: [q('nodejs_heap_size_used_bytes{job=~"metasync-.*"}', '{{job}} {{instance}}')],
          }),
          timeseries({
            title: 'Temporal worker slots in use',
            description: 'Workflow and activity task slots in use per task queue (the SDK’s own metrics).',
            unit: 'none',
            queries: [
              q('sum by (task_queue, worker_type) (temporal_worker_task_slots_used)', '{{task_queue}} {{worker_type}}'),
            ],
          }),
          timeseries({
            title: 'Temporal workflows completed per second',
            description: 'Per workflow type (the SDK’s own metrics).',
            unit: 'ops',
            queries: [q(`sum by (workflow_type) (rate(temporal_workflow_completed[${RATE}]))`, '{{workflow_type}}')],
          }),
          timeseries({
            title: 'Temporal server persistence requests per second',
            description: 'The Temporal server’s requests to its store, per service (frontend, history, matching).',
            unit: 'reqps',
            queries: [
              q(
                `sum by (service_name) (rate(persistence_requests{job="temporal-server"}[${RATE}]))`,
                '{{service_name}}',
              ),
            ],
          }),
          timeseries({
            title: 'Temporal server request latency p95',
            description: 'The Temporal server’s own latency answering requests, per service.',
            unit: 's',
            queries: [
              q(quantile(0.95, 'service_latency', ['service_name'], 'job="temporal-server"'), '{{service_name}}'),
            ],
          }),
          timeseries({
            title: 'Activity schedule-to-start p95',
            description: 'Time an activity waits for a worker slot, per task queue: high means too few workers.',
            unit: 'ms',
            queries: [
              q(quantile(0.95, 'temporal_activity_schedule_to_start_latency', ['task_queue']), '{{task_queue}}'),
            ],
          }),
        ],
      ],
    ],
  );
}

function ingestion(): Dashboard {
  return dashboard(
    'metasync-ingestion',
    'MetaSync / Ingestion',
    'Estate ingestion: assets per type and phase, run and containers-ready times, the Spark jobs.',
    [
      [
        'Assets',
        [
          timeseries({
            title: 'Assets written per second by type',
            description: 'Per asset type and phase (containers first, then columns).',
            unit: 'ops',
            width: 24,
            queries: [
              q(
                `sum by (asset_type, phase) (rate(metasync_assets_written_total{${TENANT}}[${RATE}]))`,
                '{{asset_type}} ({{phase}})',
              ),
            ],
          }),
        ],
      ],
      [
        'Runs',
        [
          timeseries({
            title: 'Run duration p50 / p95',
            description: 'From the run’s start to its end, per outcome.',
            unit: 's',
            queries: [
              q(quantile(0.5, 'metasync_ingest_run_duration_seconds', ['outcome']), 'p50 {{outcome}}'),
              q(quantile(0.95, 'metasync_ingest_run_duration_seconds', ['outcome']), 'p95 {{outcome}}'),
            ],
          }),
          timeseries({
            title: 'Containers ready p50 / p95',
            description: 'From the run’s start to its containers phase done (databases, schemas, tables, views).',
            unit: 's',
            queries: [
              q(quantile(0.5, 'metasync_ingest_containers_ready_seconds', ['outcome']), 'p50 {{outcome}}'),
              q(quantile(0.95, 'metasync_ingest_containers_ready_seconds', ['outcome']), 'p95 {{outcome}}'),
            ],
          }),
          timeseries({
            title: 'Runs finished',
            description: 'Runs ended in the window, per outcome.',
            unit: 'none',
            width: 24,
            queries: [
              q(`sum by (outcome) (increase(metasync_ingest_run_duration_seconds_count[${RATE}]))`, '{{outcome}}'),
            ],
          }),
        ],
      ],
      [
        'Spark jobs',
        [
          timeseries({
            title: 'Spark jobs running',
            description: 'Per job (alert IngestRunStuck when jobs run for 30 minutes and no asset is written).',
            unit: 'none',
            queries: [q('sum by (job) (metasync_spark_jobs_running)', '{{job}}')],
          }),
          timeseries({
            title: 'Spark rows per second',
            description: 'Rows written by finished jobs, per job.',
            unit: 'rowsps',
            queries: [q(`sum by (job) (rate(metasync_spark_job_rows_total[${RATE}]))`, '{{job}}')],
          }),
          timeseries({
            title: 'Spark job duration p95',
            description: 'Per job and outcome.',
            unit: 's',
            queries: [
              q(quantile(0.95, 'metasync_spark_job_duration_seconds', ['job', 'outcome']), '{{job}} {{outcome}}'),
            ],
          }),
          timeseries({
            title: 'Spark jobs finished by outcome',
            description: 'Jobs ended in the window, per job and outcome (alert SparkJobFailed on any failure).',
            unit: 'none',
            queries: [
              q(
                `sum by (job, outcome) (increase(metasync_spark_job_duration_seconds_count[${RATE}]))`,
                '{{job}} {{outcome}}',
              ),
            ],
          }),
        ],
      ],
    ],
  );
}

function inbound(): Dashboard {
  return dashboard(
    'metasync-inbound',
    'MetaSync / Real-time inbound',
    'Incidents from Monte Carlo and tenants’ producers, Kafka consumer lag, dead letters.',
    [
      [
        'Incidents',
        [
          timeseries({
            title: 'Incident latency p50 / p99',
            description: 'Kafka produce to asset updated, per source (alert IncidentLatencyHigh when p99 > 1 s).',
            unit: 's',
            queries: [
              q(quantile(0.5, 'metasync_incident_latency_seconds', ['source']), 'p50 {{source}}'),
              q(quantile(0.99, 'metasync_incident_latency_seconds', ['source']), 'p99 {{source}}'),
            ],
          }),
          timeseries({
            title: 'Incidents applied per second',
            description: 'Per tenant.',
            unit: 'ops',
            queries: [q(`sum by (tenant) (rate(metasync_incidents_applied_total{${TENANT}}[${RATE}]))`, '{{tenant}}')],
          }),
        ],
      ],
      [
        'Kafka',
        [
          timeseries({
            title: 'Consumer lag by group and topic',
            description: 'End offset minus committed offset (alert KafkaConsumerLagGrowing).',
            unit: 'short',
            queries: [q('sum by (group, topic) (metasync_kafka_consumer_lag)', '{{group}} {{topic}}')],
          }),
          timeseries({
            title: 'Consumer lag by partition',
            description: 'One partition far behind the others points at a slow key or a stuck consumer.',
            unit: 'short',
            queries: [
              q('max by (group, topic, partition) (metasync_kafka_consumer_lag)', '{{group}} {{topic}}[{{partition}}]'),
            ],
          }),
        ],
      ],
      [
        'Dead letters',
        [
          timeseries({
            title: 'Dead letters per second by kind and reason',
            description: 'Rejected input is kept with its reason (alert DeadLettersRising).',
            unit: 'ops',
            width: 24,
            queries: [q(`sum by (kind, reason) (rate(metasync_dead_letters_total[${RATE}]))`, '{{kind}} {{reason}}')],
          }),
        ],
      ],
    ],
  );
}

function propagation(): Dashboard {
  return dashboard(
    'metasync-propagation',
    'MetaSync / Propagation and enforcement',
    'Annotations flowing downstream through lineage, outbound events, subscribers and the enforcement sink.',
    [
      [
        'Propagation',
        [
          timeseries({
            title: 'Assets reached per second by attribute',
            description: 'Downstream assets a classification, tag, owner or description reached.',
            unit: 'ops',
            queries: [
              q(
                `sum by (attribute) (rate(metasync_propagation_assets_reached_total{${TENANT}}[${RATE}]))`,
                '{{attribute}}',
              ),
            ],
          }),
          timeseries({
            title: 'Walk duration p50 / p95',
            description: 'One downstream walk of the lineage graph.',
            unit: 's',
            queries: [
              q(quantile(0.5, 'metasync_propagation_walk_duration_seconds', []), 'p50'),
              q(quantile(0.95, 'metasync_propagation_walk_duration_seconds', []), 'p95'),
            ],
          }),
        ],
      ],
      [
        'Outbound and subscribers',
        [
          timeseries({
            title: 'Outbound events per second by type',
            description: 'Produced to metasync.outbound.<tenant>.',
            unit: 'ops',
            queries: [q(`sum by (type) (rate(metasync_outbound_events_total{${TENANT}}[${RATE}]))`, '{{type}}')],
          }),
          timeseries({
            title: 'Subscriber events per second by sink and outcome',
            description: 'Delivered, retried or dead-lettered, per sink (kafka, postgres-enforcement).',
            unit: 'ops',
            queries: [
              q(`sum by (sink, outcome) (rate(metasync_subscriber_events_total[${RATE}]))`, '{{sink}} {{outcome}}'),
            ],
          }),
          timeseries({
            title: 'Subscriber lag',
            description: 'Outbound events not yet consumed by the subscribers, per group.',
            unit: 'short',
            width: 24,
            queries: [
              q('sum by (group) (metasync_kafka_consumer_lag{topic=~"metasync[.]outbound[.].*"})', '{{group}}'),
            ],
          }),
        ],
      ],
    ],
  );
}

/** The dashboards, in the order Grafana lists them. */
export function dashboards(): Dashboard[] {
  return [overview(), ingestion(), inbound(), propagation()];
}

/** Grafana's file provisioning (YAML), by path under observability/grafana/: the dashboards and a data source. */
export const provisioningFiles: Record<string, string> = {
  'provisioning/dashboards/metasync.yml': `# Grafana file provisioning of MetaSync's dashboards (written by \`npm run dashboards\`).
# Copy into <grafana>/conf/provisioning/dashboards/ and put observability/grafana/dashboards/*.json at options.path.
apiVersion: 1
providers:
  - name: metasync
    folder: MetaSync
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 30
    options:
      path: /var/lib/grafana/dashboards/metasync
`,
  'provisioning/datasources/metasync-prometheus.yml': `# Grafana file provisioning of the stack's Prometheus (written by \`npm run dashboards\`).
# Copy into <grafana>/conf/provisioning/datasources/; the dashboards pick it (or any Prometheus) as \`datasource\`.
apiVersion: 1
datasources:
  - name: MetaSync Prometheus
    uid: metasync-prometheus
    type: prometheus
    access: proxy
    url: http://127.0.0.1:9090
    isDefault: true
    jsonData:
      timeInterval: 5s
`,
};
