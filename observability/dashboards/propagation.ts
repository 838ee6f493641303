import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TENANT, RATE, q, quantile, timeseries, dashboard } from './panels.js';

export function propagation(): Dashboard {
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
