import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TENANT, RATE, q, quantile, timeseries, dashboard } from './panels.js';

export function inbound(): Dashboard {
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
