import type { ChangeOutcome } from '../../lib/propagation/contracts.js';
import { perSecond, seconds } from './format.js';
import type { Shape } from './lineageGraphs.js';
import type { WalkHistory } from './probes.js';

/** What bench:propagate measured of one change, and the tables it prints of them. */

export interface Measured {
  shape: Shape;
  assets: number;
  depth: number;
  outcome: ChangeOutcome;
  walkMs: number;
  heldCount: number;
  lastHeldMs: number;
  outboundCount: number;
  lastOutboundMs: number;
  /** Each sample column denied to the analyst, after the request. */
  enforcedMs: number[];
  /** Each sample column denied to the analyst, after its own outbound event was published. */
  enforceLagMs: number[];
  /** When the enforcement subscription had consumed every outbound event of the change, after the request. */
  subscriberMs: number | null;
  cpu: Record<string, number>;
  io: Record<string, { calls: number; items: number; busyMs: number }> | null;
  history: WalkHistory | null;
}

export interface PropagationRun {
  results: Measured[];
  ceilings: Map<number, { cassandraMs: number; kafkaMs: number }>;
  sizes: number[];
  sampleSize: number;
  ceilingConcurrency: number;
  profile: boolean;
}

/** The three tables: the walk against the ceilings, where its time went, and Temporal's view of it. */
export function printPropagationTables(run: PropagationRun): void {
  const { results, ceilings, sizes, sampleSize, ceilingConcurrency } = run;
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(
    `\nannotation propagation: classification PII set on one source, ${sizes.join(' and ')} downstream assets; ` +
      `times from the request. Enforcement: the last ${sampleSize} downstream assets are columns of a real table, ` +
      `denied to a restricted role by the postgres-enforcement subscription, which reads every outbound event. ` +
      `Ceiling: the same number of rows written to asset_annotations with executeConcurrent ` +
      `(${ceilingConcurrency} at once), and of outbound-sized messages produced to Kafka (2,000 a send, acks=all)`,
  );
  console.table(
    results.map((r) => {
      const ceiling = ceilings.get(r.assets)!;
      const enforcedLast = r.enforcedMs.at(-1);
      return {
        shape: r.shape,
        assets: r.assets,
        depth: r.depth,
        'walk end s': seconds(r.walkMs),
        'walk assets/s': perSecond(r.assets, r.walkMs),
        'last held s': seconds(r.lastHeldMs),
        held: r.heldCount === r.assets ? 'all' : `${r.heldCount}/${r.assets}`,
        'last outbound s': seconds(r.lastOutboundMs),
        'outbound/s': perSecond(r.outboundCount, r.lastOutboundMs),
        [`sample of ${sampleSize} enforced s`]: enforcedLast === undefined ? '-' : seconds(enforcedLast),
        'enforced after its event ms': r.enforceLagMs.length
          ? `${at(r.enforceLagMs, 0.5)}–${r.enforceLagMs.at(-1)}`
          : '-',
        'subscriber read all s': r.subscriberMs === null ? '-' : seconds(r.subscriberMs),
        'subscriber assets/s': r.subscriberMs === null ? '-' : perSecond(r.outboundCount, r.subscriberMs),
        'ceiling Cassandra rows/s': perSecond(r.assets, ceiling.cassandraMs),
        'ceiling Kafka msgs/s': perSecond(r.assets, ceiling.kafkaMs),
        'walk ÷ Cassandra': (ceiling.cassandraMs / r.walkMs).toFixed(2),
        'outbound ÷ Kafka': (ceiling.kafkaMs / r.lastOutboundMs).toFixed(2),
      };
    }),
  );

  const ioLabels: Record<string, string> = {
    cassandraRead: 'Cassandra reads',
    cassandraWrite: 'Cassandra writes',
    kafkaSend: 'Kafka sends',
  };
  console.log(
    "\nwhere the walk goes: CPU seconds each process used from the request to the walk end, and the walk's tail after the last asset held the value" +
      (run.profile ? ', and how long Cassandra reads, writes and Kafka sends were in flight (overlaps once)' : ''),
  );
  console.table(
    results.map((r) => ({
      run: `${r.shape} ${r.assets}`,
      'walk s': seconds(r.walkMs),
      ...Object.fromEntries(Object.entries(r.cpu).map(([name, cpu]) => [`${name} CPU s`, cpu.toFixed(1)])),
      'after last held s': seconds(r.walkMs - r.lastHeldMs),
      ...Object.fromEntries(
        Object.entries(r.io ?? {}).map(([kind, io]) => [
          `${ioLabels[kind] ?? kind} s (calls)`,
          `${seconds(io.busyMs)} (${io.calls})`,
        ]),
      ),
    })),
  );

  console.log("\nTemporal: the walk's activities (run: started to closed, summed; queued: scheduled to started)");
  console.table(
    results.flatMap((r) => {
      if (!r.history) return [];
      const { workflows, workflowTasks, workflowTaskMs, activities } = r.history;
      return [
        {
          run: `${r.shape} ${r.assets}`,
          what: `${workflows} workflow runs, workflow tasks`,
          calls: workflowTasks,
          'run s': seconds(workflowTaskMs),
          'queued s': '',
        },
        ...[...activities].map(([type, t]) => ({
          run: `${r.shape} ${r.assets}`,
          what: type,
          calls: t.calls,
          'run s': seconds(t.runMs),
          'queued s': seconds(t.queuedMs),
        })),
      ];
    }),
  );
}
