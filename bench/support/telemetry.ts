import { readFileSync } from 'node:fs';
import { freePort } from '../../test/support/harness.js';
import type { SpawnOptions } from '../../test/support/processes.js';

/**
 * Point 5 of observability: tracing and metrics must cost the benchmarks no more than 5%. A benchmark run with
 * `--telemetry both` measures the same workload twice, with the processes it starts untraced ("off") and then traced
 * and serving metrics as the stack runs them ("on"), and prints both and their ratio.
 */
export type TelemetryMode = 'off' | 'on';

export function telemetryModes(flag: string): TelemetryMode[] {
  if (flag === 'both') return ['off', 'on'];
  if (flag === 'off' || flag === 'on') return [flag];
  throw new Error(`--telemetry takes off, on or both, not ${JSON.stringify(flag)}`);
}

/**
 * How a benchmark's processes run in `mode`. On: traces to METASYNC_TRACES_URL (the stack's Zipkin by default) at the
 * configured sample ratio, and metrics served on ports of their own, MetaSync's and the Temporal SDK's (as
 * METASYNC_METRICS_PORT and METASYNC_TEMPORAL_METRICS_PORT do in production).
 */
export async function telemetryOptions(mode: TelemetryMode): Promise<SpawnOptions> {
  if (mode === 'off') return { env: { METASYNC_METRICS_PORT: '0', METASYNC_TEMPORAL_METRICS_PORT: '0' } };
  return {
    tracesUrl: process.env['METASYNC_TRACES_URL'] || 'http://127.0.0.1:9411/api/v2/spans',
    env: {
      METASYNC_METRICS_PORT: String(await freePort()),
      METASYNC_TEMPORAL_METRICS_PORT: String(await freePort()),
    },
  };
}

/** The middle value (the mean of the two middle ones for an even count): one slow run does not move it. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One figure off and on, and what telemetry cost (positive: slower or less with it on). */
export function costRow(figure: string, off: number, on: number, higherIsBetter = false) {
  const ratio = on / off;
  const cost = higherIsBetter ? 1 - ratio : ratio - 1;
  const round = (value: number) => Math.round(value * 10) / 10;
  return { figure, off: round(off), on: round(on), 'on ÷ off': ratio.toFixed(3), cost: `${(100 * cost).toFixed(1)}%` };
}

/**
 * CPU time a process has used so far (user + system, from /proc/<pid>/stat), in ms. Beside latencies, which on a
 * shared machine move with everything else that runs, CPU time is what telemetry itself costs the process.
 */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime, fields 14 and 15 of the line
  return Math.round((ticks * 1000) / CLOCK_TICKS_PER_SECOND);
}
/** Linux's USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
