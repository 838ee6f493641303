import { context as traceContext, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../lib/platform/config.js';
import { SparkJobResult, type SparkJobHeartbeat, type SparkJobProgress } from '../lib/ingest/contracts.js';
import { writtenByType } from '../lib/ingest/counts.js';
import { sparkProgress, sparkSteps, stepsText } from '../lib/ingest/sparkSteps.js';
import { log } from '../lib/platform/log.js';
import { assetTypeLabel, metrics, secondsSince, tenantLabel } from '../lib/platform/metrics.js';
import { bounded, maskSecrets, outputTail, redactCommandLine } from '../lib/platform/redact.js';

export interface SparkJobInput {
  job: 'load_assets' | 'load_columns';
  /** Shown in the Spark UI: what the job is for, e.g. tenant, run and buckets. */
  label: string;
  /** The job's own arguments, passed as --name value. */
  args: Record<string, string>;
  /** Arguments that are S3 keys (or prefixes) of our bucket; the job gets them as s3a:// URIs. */
  objects?: Record<string, string>;
}

const RESULT_MARKER = 'METASYNC_RESULT ';
/** Often enough for progress a person watches (the worker's heartbeat throttle lets them through as often). */
const HEARTBEAT_MS = 3_000;
/** A failure's reason: the end of spark-submit's output, small enough that Temporal keeps it whole. */
const FAILURE_LINES = 15;
const FAILURE_LINE_CHARS = 300;
const FAILURE_CHARS = 3_000;

/**
 * What spark-submit gets from the worker's environment: what finds Java, Python and Spark, and nothing else (not
 * the worker's own settings and secrets). Everything the job needs besides is set explicitly.
 */
const PASSED_ENV = /^(PATH|HOME|USER|LANG|LC_\w+|TZ|TMPDIR|SPARK_\w+|PYSPARK_\w+|HADOOP_\w+)$/;

/** A finished job's rows, and for a columns job its assets written per type (its counts say which). */
function recordWritten(input: SparkJobInput, result: SparkJobResult): void {
  metrics.sparkJobRows.inc({ job: input.job }, result.written);
  if (input.job !== 'load_columns' || input.args['tenant'] === undefined) return;
  const tenant = tenantLabel(input.args['tenant']);
  for (const [type, written] of writtenByType(result.counts)) {
    metrics.assetsWritten.inc({ tenant, asset_type: assetTypeLabel(type), phase: 'columns' }, written);
  }
}

export function createSparkActivities(config: Pick<Config, 'spark' | 's3' | 'cassandra'>) {
  const { spark, s3, cassandra } = config;

  function submitArguments(input: SparkJobInput): string[] {
    const [cassandraHost, cassandraPort] = (cassandra.contactPoints[0] ?? '127.0.0.1:9042').split(':');
    const conf: Record<string, string> = {
      // The s3a and Cassandra connector jars go on the class paths from folders the driver and every worker already
      // have, not as --jars: those would be copied into the Spark worker's work folder for every job (~290 MB each,
      // kept until the worker's cleanup removes them). The driver runs here (client mode); executors on the workers.
      'spark.driver.extraClassPath': `${spark.jarsDir}/*`,
      'spark.executor.extraClassPath': `${spark.executorJarsDir}/*`,
      'spark.hadoop.fs.s3a.endpoint': s3.endpoint,
      'spark.hadoop.fs.s3a.path.style.access': 'true',
      'spark.hadoop.fs.s3a.connection.ssl.enabled': String(s3.endpoint.startsWith('https:')),
      'spark.hadoop.fs.s3a.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
      'spark.cassandra.connection.host': cassandraHost ?? '127.0.0.1',
      'spark.cassandra.connection.port': cassandraPort ?? '9042',
      'spark.cassandra.connection.localDC': cassandra.localDataCenter,
    };
    // A table of flags and their values, one pair a line.
    // prettier-ignore
    return [
      '--master', spark.master,
      '--name', `metasync-${input.job}-${input.label}`,
      // The mapping rules engine the jobs share with the TypeScript path: small, and shipped with each job so that
      // executors run the rules of the checkout that submitted it.
      '--py-files', fileURLToPath(new URL('../spark/metasync_rules.py', import.meta.url)),
      ...Object.entries(conf).flatMap(([key, value]) => ['--conf', `${key}=${value}`]),
      fileURLToPath(new URL(`../spark/${input.job}.py`, import.meta.url)),
      '--keyspace', cassandra.keyspace,
      '--owner-pid', String(process.pid),
      ...Object.entries(input.args).flatMap(([name, value]) => [`--${name}`, value]),
      ...Object.entries(input.objects ?? {}).flatMap(([name, key]) => [`--${name}`, `s3a://${s3.bucket}/${key}`]),
    ];
  }

  /** Without its jars a job would fail deep in Spark (no s3a filesystem); say what is missing and how to get it. */
  function checkJars(): void {
    const jars = existsSync(spark.jarsDir) ? readdirSync(spark.jarsDir).filter((file) => file.endsWith('.jar')) : [];
    if (jars.length === 0) {
      throw ApplicationFailure.create({
        message: `no Spark jars in ${spark.jarsDir} (METASYNC_SPARK_JARS_DIR): run bash stack/up.sh spark, which fetches them`,
      });
    }
  }

  /** The command as a failure shows it: redacted. */
  function shownCommand(args: string[]): string {
    return bounded([spark.submit, ...redactCommandLine(args)].join(' '), 2_000);
  }

  return {
    /**
     * Submits one Spark job with spark-submit and waits for it. Heartbeats while it runs, so a lost worker is
     * noticed; cancelling the activity kills spark-submit, which ends the job's driver and with it the application.
     */
    runSparkJob(input: SparkJobInput): Promise<SparkJobResult> {
      // The job is a span of the run's trace (a no-op when the worker is not traced), with its row counts; the job
      // gets the trace context as TRACEPARENT, and the Spark UI shows it (spark.metasync.traceparent).
      return tracer.startActiveSpan(
        `spark-submit ${input.job}`,
        { kind: SpanKind.CLIENT, attributes: { 'metasync.spark.job': input.job, 'metasync.spark.label': input.label } },
        async (span) => {
          try {
            const result = await submitJob(input, traceContextEnv());
            span.setAttributes({
              'metasync.spark.rows_written': result.written,
              'metasync.spark.rows_rejected': result.rejected,
            });
            return result;
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: bounded(String(error), 500) });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };

  async function submitJob(input: SparkJobInput, traceEnv: Record<string, string>): Promise<SparkJobResult> {
    const context = Context.current();
    const started = Date.now();
    // The job's last progress line goes with each heartbeat: the Web UI shows it on the pending activity, and the
    // run's progress adds it up (control/ingestRuns.ts).
    let progress: SparkJobProgress | undefined;
    const heartbeat = (): SparkJobHeartbeat => ({ elapsedMs: Date.now() - started, ...(progress && { progress }) });
    const beat = setInterval(() => context.heartbeat(heartbeat()), HEARTBEAT_MS);
    const job = { job: input.job };
    let outcome: 'succeeded' | 'failed' = 'failed';
    metrics.sparkJobsRunning.inc(job);
    try {
      checkJars();
      const traceConf = traceEnv['TRACEPARENT']
        ? ['--conf', `spark.metasync.traceparent=${traceEnv['TRACEPARENT']}`]
        : [];
      const args = [...traceConf, ...submitArguments(input)];
      const run = await execa(spark.submit, args, {
        // Each line of the job's output passes here on its way to the buffer the result is read from.
        stdout: function* (line: unknown) {
          if (typeof line === 'string') progress = sparkProgress(line) ?? progress;
          yield line;
        },
        // The S3 credentials go through the environment, which only the job's own user can read (/proc/<pid>/
        // environ), never through arguments anyone sees in ps; the jobs hand them to s3a (spark/load_assets.py).
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([name]) => PASSED_ENV.test(name))),
          JAVA_HOME: spark.javaHome,
          PYSPARK_PYTHON: spark.python,
          SPARK_CONF_DIR: fileURLToPath(new URL('../stack/spark/', import.meta.url)),
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          ...traceEnv,
        },
        extendEnv: false,
        cancelSignal: context.cancellationSignal,
        forceKillAfterDelay: 5_000,
        timeout: spark.jobTimeoutMs,
        reject: false,
      });
      const resultLine = run.stdout
        .split('\n')
        .reverse()
        .find((line) => line.startsWith(RESULT_MARKER));
      // Reported as cancelled (not failed), so a run cancelled by its user ends as cancelled.
      if (run.isCanceled) throw context.cancellationSignal.reason;
      if (run.exitCode !== 0 || !resultLine) {
        // The reason goes to the workflow history and the worker's log: bounded, and with any secret masked.
        const tail = maskSecrets(outputTail(run.stderr, FAILURE_LINES, FAILURE_LINE_CHARS), [s3.secretAccessKey]);
        throw ApplicationFailure.create({
          message: bounded(
            `Spark job ${input.job} failed (exit ${run.exitCode ?? run.signal ?? '?'}): ${tail}`,
            FAILURE_CHARS,
          ),
          details: [{ command: shownCommand(args) }],
        });
      }
      const result = SparkJobResult.parse(JSON.parse(resultLine.slice(RESULT_MARKER.length)));
      // Where a job's time went, from the steps it timed: on its span and in the worker's log.
      // (Spark's PythonRunner merges the job's stderr into its stdout, so the steps are looked for in both.)
      const steps = stepsText(sparkSteps(`${run.stdout}\n${run.stderr}`));
      if (steps) {
        trace.getActiveSpan()?.setAttribute('metasync.spark.steps', steps);
        log.info('spark job steps', { job: input.job, label: input.label, steps });
      }
      outcome = 'succeeded';
      recordWritten(input, result);
      return result;
    } finally {
      clearInterval(beat);
      metrics.sparkJobsRunning.dec(job);
      // A cancelled job is not a Spark failure: only jobs that ran to an end are timed.
      if (!context.cancellationSignal.aborted)
        metrics.sparkJobDuration.observe({ ...job, outcome }, secondsSince(started));
    }
  }
}

const tracer = trace.getTracer('metasync-spark');

/** The active trace context as the W3C variables a child process reads (TRACEPARENT, TRACESTATE); empty untraced. */
function traceContextEnv(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(traceContext.active(), carrier);
  return Object.fromEntries(Object.entries(carrier).map(([name, value]) => [name.toUpperCase(), value]));
}
