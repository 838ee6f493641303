import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TENANT, RATE, q, quantile, timeseries, dashboard } from './panels.js';

export function ingestion(): Dashboard {
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
