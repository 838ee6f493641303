import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TENANT, RATE, q, quantile, timeseries, stat, dashboard } from './panels.js';

export function overview(): Dashboard {
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
