import { FastifyOtelInstrumentation } from '@fastify/otel';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { CassandraDriverInstrumentation } from '@opentelemetry/instrumentation-cassandra-driver';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workflowSpanSink } from './legacySpans.js';

/**
 * Traces, in one place. A process is traced when METASYNC_TRACES_URL (or the standard OTEL_EXPORTER_ZIPKIN_ENDPOINT)
 * names a Zipkin span endpoint; the stack gives its apps http://127.0.0.1:9411/api/v2/spans. Two steps, because the
 * instrumentations must patch pg, kafkajs, cassandra-driver, http and the AWS SDK before anything imports them, and an
 * ES module's imports all load before its first line runs:
 *   1. lib/platform/telemetryPreload.mjs, loaded with `--import` before the entry point, installs the instrumentations
 *      and loads the packages they patch (installInstrumentations);
 *   2. runProcess starts the SDK (startTelemetry) with the process's name, sampler and exporter from its config.
 * Spans made between the two go nowhere: the instrumentations record through the global tracer provider, which the
 * SDK sets. Temporal's interceptors come from temporalClientInterceptors (always: without the SDK they only pass an
 * invalid context on) and temporalWorkerTelemetry (workflow and activity spans, only while this process is traced).
 */

export interface TraceSettings {
  /** Zipkin's span endpoint (POST /api/v2/spans); no tracing without it. */
  url: string | undefined;
  /** The share of new traces kept (0..1); a span with a parent follows its parent's choice. */
  sampleRatio: number;
}

/** The maintained instrumentations of the libraries MetaSync uses. */
function instrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      // The span export to Zipkin would otherwise be traced itself, a span for every batch of spans.
      ignoreOutgoingRequestHook: (request) => String(request.path ?? '').startsWith('/api/v2/spans'),
    }),
    // Fastify's own plugin: each request's route pattern (not its URL) names the span.
    new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    new PgInstrumentation({ requireParentSpan: true }),
    new KafkaJsInstrumentation(),
    new CassandraDriverInstrumentation(),
    new AwsInstrumentation({ suppressInternalInstrumentation: true }),
  ];
}

/**
 * The packages the instrumentations patch, loaded once they are installed. Loaded through `require`, the
 * instrumentations patch them as they load (require-in-the-middle), and the entry point's `import`s find the same
 * patched modules in the module cache. This replaces the ESM loader hook (import-in-the-middle), which cost the worker a
 * fifth more CPU for as long as it ran, patching nothing more (docs/benchmarks.md, "The ESM hook was the cost").
 */
const INSTRUMENTED_PACKAGES = ['http', 'https', 'pg', 'kafkajs', 'cassandra-driver', '@aws-sdk/client-s3'];

let installed = false;

/** Patches the instrumented libraries; the preload calls it before the entry point imports them. */
export function installInstrumentations(): void {
  if (installed) return;
  installed = true;
  registerInstrumentations({ instrumentations: instrumentations() });
  const load = createRequire(import.meta.url);
  for (const name of INSTRUMENTED_PACKAGES) load(name);
  // `import { request } from 'node:http'` reads a copy of the built-in's exports, made when it first loaded: this
  // copies the patched functions over.
  syncBuiltinESMExports();
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/** What the Temporal worker needs to trace workflows; set while a traced process runs. */
let active: { processor: SpanProcessor; resource: Resource; ratio: number } | undefined;

/**
 * Starts the OpenTelemetry SDK for a process (service metasync-<name>) when settings.url is set; a no-op otherwise.
 * No metrics or logs exporters: metrics are Prometheus's (lib/platform/metrics), logs go to stderr (log.ts).
 */
export function startTelemetry(serviceName: string, settings: TraceSettings): Telemetry {
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  if (!settings.url) return { shutdown: () => Promise.resolve() };
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName });
  const processor = new BatchSpanProcessor(new ZipkinExporter({ url: settings.url, serviceName }));
  const sdk = new NodeSDK({
    resource,
    spanProcessors: [processor],
    sampler: traceSampler(settings.sampleRatio),
    // The instrumentations are the preload's (installInstrumentations); none are loaded here, when it is too late.
    instrumentations: [],
    resourceDetectors: [],
  });
  sdk.start();
  active = { processor, resource, ratio: settings.sampleRatio };
  return {
    async shutdown() {
      active = undefined;
      await sdk.shutdown();
    },
  };
}

/**
 * Which traces are kept. The ratio decides by the trace id, so every process decides the same for one trace: a new
 * trace (the API's request) and a trace that arrives from another process (Kafka headers, Temporal headers) alike. The
 * second matters because a workflow started without a trace context is a root inside the workflow sandbox, where the
 * interceptors package keeps every root: re-deciding at the activities keeps those runs to the ratio too. A local
 * parent's decision is followed as it is.
 */
export function traceSampler(ratio: number): Sampler {
  const byTraceId = new TraceIdRatioBasedSampler(ratio);
  const root: Sampler = {
    shouldSample(parent, traceId, _name, kind, attributes) {
      // kafkajs's instrumentation makes, for a consumer's eachBatch, a root `receive` span per fetched batch with each
      // message's span under it, outside the producer's trace. The bridges that consume in batches make each
      // message's span themselves, in the producer's trace (lib/platform/messageTraces.ts), so these are dropped,
      // and the message spans under them with them.
      if (kind === SpanKind.CLIENT && attributes['messaging.operation.type'] === 'receive') {
        return { decision: SamplingDecision.NOT_RECORD };
      }
      return byTraceId.shouldSample(parent, traceId);
    },
    toString: () => `kafka batch receive dropped, else ${byTraceId.toString()}`,
  };
  return new ParentBasedSampler({ root, remoteParentSampled: byTraceId });
}

/** Whether the ratio keeps a trace, decided as traceSampler decides it. */
const keptByRatio = (traceId: string, ratio: number) =>
  new TraceIdRatioBasedSampler(ratio).shouldSample(ROOT_CONTEXT, traceId).decision ===
  SamplingDecision.RECORD_AND_SAMPLED;

/** Client interceptors: a workflow started or signalled carries the caller's trace context in its headers. */
export function temporalClientInterceptors(): { workflow: WorkflowClientInterceptor[] } {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The workflow interceptors' module, bundled with the workflows (it runs in the workflow sandbox): the interceptors
 * package's, for kept traces only (lib/temporal/sampledWorkflowInterceptors.ts says why).
 */
const WORKFLOW_INTERCEPTORS = fileURLToPath(new URL('../temporal/sampledWorkflowInterceptors.ts', import.meta.url));

/**
 * A traced worker's interceptors and the sink its workflows export their spans through, or undefined when this
 * process is not traced. Workflow spans are made inside the sandbox by the interceptors package's OpenTelemetry 1.x
 * SDK; workflowSpanSink reshapes them for this process's 2.x span processor (lib/platform/legacySpans.ts).
 */
export function temporalWorkerTelemetry():
  | { workflowModules: string[]; activity: ActivityInterceptorsFactory[]; sinks: InjectedSinks<OpenTelemetrySinks> }
  | undefined {
  if (!active) return undefined;
  return {
    workflowModules: [WORKFLOW_INTERCEPTORS],
    activity: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: workflowSpanSink(active.processor, active.resource, (traceId) => keptByRatio(traceId, active!.ratio)),
  };
}
