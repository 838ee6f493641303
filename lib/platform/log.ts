import { trace } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Structured log lines (one JSON object each) on stderr, so stdout stays for what a command prints to its user. Each
 * line carries the trace and span ids of the active span (trace_id, span_id: search them in Zipkin, or open
 * http://127.0.0.1:9411/zipkin/traces/<trace_id>) and the fields of the work in hand (tenant, workflow_id) that an
 * activity or a bridge set with withLogFields.
 */
export type Fields = Record<string, unknown>;

/** What the current unit of work is about, for every line logged while it runs. */
export interface WorkFields {
  tenant?: string;
  workflow_id?: string;
  activity?: string;
}

const work = new AsyncLocalStorage<WorkFields>();

/** Runs `fn` with `fields` on every log line it (and what it awaits) writes; inner calls add to outer ones. */
export function withLogFields<T>(fields: WorkFields, fn: () => T): T {
  return work.run({ ...work.getStore(), ...fields }, fn);
}

/** The fields a line gets from its context: the active span's ids (when it is traced) and the work's fields. */
export function contextFields(): Fields {
  const span = trace.getActiveSpan()?.spanContext();
  const ids = span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
  return { ...ids, ...work.getStore() };
}

/** One line: time, level and message first, then the context, then the caller's fields (which win on a clash). */
export function logLine(level: 'info' | 'warn' | 'error', message: string, fields: Fields = {}): string {
  return JSON.stringify({ at: new Date().toISOString(), level, message, ...contextFields(), ...fields });
}

function write(level: 'info' | 'warn' | 'error', message: string, fields?: Fields): void {
  process.stderr.write(logLine(level, message, fields) + '\n');
}

export const log = {
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
