import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../lib/platform/config.js';
import { servicePrincipal } from '../../lib/kafka/access.js';

/** Pids of this machine's processes whose command line mentions `fragment` (read from /proc: no ps needed). */
export function processesMentioning(fragment: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(fragment)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** spark-submit JVMs (the drivers of our jobs, in client mode) whose arguments mention `fragment`. */
export function sparkSubmitsMentioning(fragment: string): number[] {
  const drivers = new Set(processesMentioning('org.apache.spark.deploy.SparkSubmit'));
  return processesMentioning(fragment).filter((pid) => drivers.has(pid));
}

/** Names of the applications the Spark master is running now. */
export async function activeSparkApps(config: Config): Promise<string[]> {
  const response = await fetch(`${config.spark.uiUrl}/json/`);
  const state = (await response.json()) as { activeapps?: { name: string }[] };
  return (state.activeapps ?? []).map((app) => app.name);
}

const PRINCIPALS = {
  'workers/worker.ts': 'worker',
  'workers/bridge.ts': 'bridge',
  'workers/subscribers.ts': 'subscribers',
  'api/main.ts': 'api',
} as const;
type Entry = keyof typeof PRINCIPALS;

export interface SpawnOptions {
  /** Settings of this process only (e.g. the API's port). */
  env?: Record<string, string>;
  /** Traces to this Zipkin span endpoint, with the instrumentations preloaded as the stack runs its apps. */
  tracesUrl?: string;
}

/**
 * One of this checkout's processes (workers/worker.ts, workers/bridge.ts, workers/subscribers.ts, api/main.ts) as it
 * runs in production, so a test can kill it outright or see its traces. It serves the config's task queue, Kafka group
 * prefix and bridge tenants (which the subscribers serve too), and its metrics on the config's ports (0, off, unless
 * the test sets them); its output goes to `.stack/logs/<name>.log` for when a test fails.
 */
export function spawnApp(entry: Entry, config: Config, name: string, options: SpawnOptions = {}): ResultPromise {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const log = { file: `${root}.stack/logs/${name}.log`, append: true } as const;
  mkdirSync(`${root}.stack/logs`, { recursive: true }); // a checkout whose stack was started elsewhere has none
  const preload = options.tracesUrl ? ['--import', './lib/platform/telemetryPreload.mjs'] : [];
  // Where a process's time goes: with METASYNC_CPU_PROFILE_DIR=<dir>, V8 CPU profiles of it (a file per thread) land
  // in <dir>/<name> when it exits.
  const profileDir = process.env['METASYNC_CPU_PROFILE_DIR'];
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${name}`] : [];
  return execa(process.execPath, [...profile, '--import', 'tsx', ...preload, entry], {
    cwd: root,
    env: {
      METASYNC_TASK_QUEUE: config.temporal.taskQueue,
      METASYNC_KAFKA_GROUP_PREFIX: config.kafka.groupPrefix,
      // Each process is its own Kafka principal, as the stack runs it; a bridge serves the config's tenants only.
      METASYNC_KAFKA_USERNAME: servicePrincipal(PRINCIPALS[entry]),
      ...(config.kafka.bridgeTenants && { METASYNC_BRIDGE_TENANTS: config.kafka.bridgeTenants.join(',') }),
      METASYNC_DESTINATIONS_ALLOW_LOOPBACK: String(config.destinations.allowLoopback),
      // The entry points' own metrics ports would collide with the stack's processes: the test's config decides.
      METASYNC_METRICS_PORT: String(config.metrics.port),
      METASYNC_TEMPORAL_METRICS_PORT: String(config.metrics.temporalPort),
      METASYNC_KAFKA_LAG_SECONDS: String(config.kafka.lagIntervalMs / 1000),
      ...(options.tracesUrl && { METASYNC_TRACES_URL: options.tracesUrl }),
      ...options.env,
    },
    stdout: log,
    stderr: log,
    reject: false,
  });
}

export const spawnWorker = (config: Config, name: string, options: SpawnOptions = {}): ResultPromise =>
  spawnApp('workers/worker.ts', config, name, options);

/** Waits until the log of spawnApp's process `name` says `text` (its ready line), or fails with the log's tail. */
export async function untilLogged(child: ResultPromise, name: string, text: string, timeoutMs = 90_000) {
  const file = fileURLToPath(new URL(`../../.stack/logs/${name}.log`, import.meta.url));
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const deadline = Date.now() + timeoutMs;
  while (!read().includes(text)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = read().split('\n').slice(-15).join('\n');
      throw new Error(
        `${name} did not log "${text}" ${child.exitCode !== null ? '(it exited)' : `within ${timeoutMs} ms`}:\n${tail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
