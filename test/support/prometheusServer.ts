import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The stack's Prometheus (stack/services/prometheus.sh) as a test uses it: registering the test's own metrics ports
 * as scrape targets through a file_sd file, and querying its HTTP API. The targets folder is read from the running
 * server's config, so a test finds it whichever checkout started Prometheus.
 */
export const prometheusUrl = process.env.METASYNC_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

const Config = z.object({ status: z.literal('success'), data: z.object({ yaml: z.string() }) });
const Targets = z.object({
  status: z.literal('success'),
  data: z.object({
    activeTargets: z.array(
      z.object({
        labels: z.record(z.string(), z.string()),
        health: z.string(),
        lastScrape: z.string(),
        lastError: z.string(),
      }),
    ),
  }),
});
const QueryResult = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({ resultType: z.string(), result: z.array(z.object({ metric: z.record(z.string(), z.string()) })) }),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

async function get(path: string, params: Record<string, string> = {}): Promise<unknown> {
  const url = `${prometheusUrl}${path}?${new URLSearchParams(params).toString()}`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(
      `Prometheus does not answer at ${prometheusUrl} (${(error as Error).message}): start it with \`bash stack/up.sh prometheus\``,
      { cause: error },
    );
  }
  // Prometheus answers a bad query with 400 and a JSON body saying why: the caller reads it.
  return response.json();
}

/** The folder Prometheus reads file_sd target files from (the `*.json` glob of its file_sd_configs). */
export async function targetsFolder(): Promise<string> {
  const { yaml } = Config.parse(await get('/api/v1/status/config')).data;
  const glob = /-\s+(\/\S+)\/\*\.json/.exec(yaml);
  if (!glob?.[1]) throw new Error(`the running Prometheus reads no file_sd targets (its config:\n${yaml})`);
  return glob[1];
}

export interface ScrapeTarget {
  /** host:port serving GET /metrics */
  address: string;
  job: string;
}

/**
 * Registers `targets` with Prometheus, labelled `test_run=<run>`, and waits (up to 30 s) until each was scraped up.
 * Returns what takes them away again.
 */
export async function addScrapeTargets(run: string, targets: ScrapeTarget[]): Promise<() => void> {
  const file = `${await targetsFolder()}/${run}.json`;
  const groups = targets.map(({ address, job }) => ({ targets: [address], labels: { job, test_run: run } }));
  // Written beside it (not *.json) and renamed into place, so Prometheus never reads half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(groups));
  renameSync(`${file}.tmp`, file);
  const remove = () => rmSync(file, { force: true });
  try {
    await scrapedSince(run, 0, targets.length, 30_000);
  } catch (error) {
    remove();
    throw error;
  }
  return remove;
}

/** Waits until each of the run's `count` targets was scraped, up, after `sinceMs` (epoch ms). */
export async function scrapedSince(run: string, sinceMs: number, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: z.infer<typeof Targets>['data']['activeTargets'] = [];
  while (Date.now() < deadline) {
    seen = Targets.parse(await get('/api/v1/targets', { state: 'active' })).data.activeTargets.filter(
      (target) => target.labels.test_run === run,
    );
    const fresh = seen.filter((target) => target.health === 'up' && Date.parse(target.lastScrape) > sinceMs);
    if (fresh.length === count) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const states = seen.map((t) => `${t.labels.job} ${t.labels.instance}: ${t.health} ${t.lastError}`).join('; ');
  throw new Error(
    `Prometheus did not scrape the test's ${count} targets within ${timeoutMs} ms (${states || 'none found'})`,
  );
}

const Rules = z.object({
  status: z.literal('success'),
  data: z.object({
    groups: z.array(
      z.object({
        file: z.string(),
        rules: z.array(
          z.object({ name: z.string(), type: z.string(), health: z.string(), lastError: z.string().optional() }),
        ),
      }),
    ),
  }),
});

/** The alerting rules Prometheus has loaded: each one's name, the file it came from, and its evaluation health. */
export async function loadedAlerts(): Promise<{ name: string; file: string; health: string; lastError: string }[]> {
  return Rules.parse(await get('/api/v1/rules', { type: 'alert' })).data.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      name: rule.name,
      file: group.file,
      health: rule.health,
      lastError: rule.lastError ?? '',
    })),
  );
}

export type RangeQuery = { ok: true; series: number } | { ok: false; error: string };

/** A range query as Grafana sends one: how many series it returned, or Prometheus's error. */
export async function queryRange(expr: string, startMs: number, endMs: number, stepSeconds = 5): Promise<RangeQuery> {
  const result = QueryResult.parse(
    await get('/api/v1/query_range', {
      query: expr,
      start: String(startMs / 1000),
      end: String(endMs / 1000),
      step: String(stepSeconds),
    }),
  );
  return result.status === 'success'
    ? { ok: true, series: result.data.result.length }
    : { ok: false, error: `${result.errorType}: ${result.error}` };
}
