import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuMs } from './telemetry.js';

/** The stack's services whose CPU a benchmark counts beside its own processes'. */
export const STACK_SERVICES = ['temporal', 'kafka', 'cassandra'] as const;
export type StackService = (typeof STACK_SERVICES)[number];

/**
 * The process ids of the stack's services, from the pid files stack/ keeps (in METASYNC_RUN, else this checkout's
 * .stack/); a service whose file is missing or whose process is gone is left out.
 */
export function stackPids(): Partial<Record<StackService, number>> {
  const run = process.env['METASYNC_RUN'] ?? fileURLToPath(new URL('../../.stack', import.meta.url));
  const pids: Partial<Record<StackService, number>> = {};
  for (const service of STACK_SERVICES) {
    const file = `${run}/pids/${service}.pid`;
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && existsSync(`/proc/${pid}`)) pids[service] = pid;
  }
  return pids;
}

/** CPU ms used so far by each of `pids`. */
export function cpuOf<K extends string>(pids: Partial<Record<K, number>>): Partial<Record<K, number>> {
  return Object.fromEntries(
    Object.entries<number | undefined>(pids).map(([name, pid]) => [name, cpuMs(pid)]),
  ) as Partial<Record<K, number>>;
}

/** Each process's CPU between two readings, in ms per `per` (e.g. per incident). */
export function cpuPer<K extends string>(
  before: Partial<Record<K, number>>,
  after: Partial<Record<K, number>>,
  per: number,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, was] of Object.entries<number | undefined>(before)) {
    const now = (after as Record<string, number | undefined>)[name];
    if (was !== undefined && now !== undefined) result[name] = Math.round(((now - was) / per) * 10) / 10;
  }
  return result;
}
