import { loadConfigOrExit, type Config } from './config.js';
import { openClients, type ClientChoice, type OpenedClients } from './clients.js';
import { log } from './log.js';
import { serveMetrics, type MetricsServer } from './metrics.js';
import { startTelemetry } from './telemetry.js';

/** What a long-running process started, for runProcess to stop on a signal. */
export interface Running {
  /** Stops taking work and finishes what is in flight; the clients close after it. */
  stop(): Promise<void>;
  /** Settles when the work ends by itself (a Temporal worker that failed): the process then closes and exits. */
  done?: Promise<unknown>;
}

export interface ProcessSetup<C extends ClientChoice> {
  /** The process's name: its telemetry service is metasync-<name>. */
  name: string;
  /** Where the configuration is read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Settings the environment may override, e.g. the process's own Kafka principal. */
  defaults?: Record<string, string>;
  clients: C;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * The one bootstrap of MetaSync's processes (the API, the worker, the bridge, the subscribers) and benchmarks:
 * loads the configuration (a wrong one stops the process with what to fix), starts telemetry (traces when the
 * configuration names a backend; docs/observability.md), serves its Prometheus metrics when METASYNC_METRICS_PORT is
 * set (the entry points' defaults set it), opens only the clients
 * asked for, and calls `start` with them. When `start` returns what it started, the process runs until SIGINT or
 * SIGTERM (or until the work ends by itself), then stops it, closes the clients in the reverse order and exits. When
 * `start` returns nothing, its work is done: the clients close and the process ends.
 */
export async function runProcess<C extends ClientChoice>(
  setup: ProcessSetup<C>,
  start: (context: OpenedClients<C> & { config: Config }) => Promise<Running | void>,
): Promise<void> {
  const config = loadConfigOrExit(setup.env ?? process.env, setup.defaults);
  const telemetry = startTelemetry(`metasync-${setup.name}`, config.traces);
  const metrics = await startMetrics(setup.name, config);
  const clients = await openClients(config, setup.clients).catch(async (error: unknown) => {
    await metrics?.close();
    await telemetry.shutdown();
    throw error;
  });
  const closeAll = async () => {
    await clients.close();
    await metrics?.close();
    await telemetry.shutdown();
  };
  let running: Running | void;
  try {
    running = await start({ ...clients, config });
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
  if (!running) {
    await closeAll();
    return;
  }

  const work = running;
  let stopping: Promise<void> | undefined;
  const stop = (why: string) =>
    (stopping ??= (async () => {
      log.info(`${setup.name} stopping`, { why });
      try {
        await work.stop();
      } finally {
        await closeAll();
      }
    })());
  for (const signal of SIGNALS) process.once(signal, () => void stop(signal).then(() => process.exit(0)));
  if (work.done) {
    try {
      await work.done;
    } catch (error) {
      await stop('its work failed').catch(() => undefined);
      throw error;
    }
    await stop('its work ended');
  }
}

/** The process's /metrics server, when METASYNC_METRICS_PORT is set; a port already taken stops it with what to do. */
async function startMetrics(name: string, config: Config): Promise<MetricsServer | undefined> {
  const { port, host } = config.metrics;
  if (port === 0) return undefined;
  const server = await serveMetrics(port, host).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `${name} cannot serve its metrics on ${host}:${port} (${error.code ?? error.message}): is another ${name} running? ` +
        'Set METASYNC_METRICS_PORT to a free port, or to 0 to turn its metrics off',
    );
  });
  log.info(`${name} serving metrics`, { url: `http://${host}:${server.port}/metrics` });
  return server;
}
