import type { Subscription } from '../contracts.js';
import { createKafkaSink } from './kafka.js';
import { createPostgresEnforcementSink } from './postgresEnforcement.js';
import type { Sink, SinkContext, SinkDependencies } from './sink.js';

/** The sink a subscription's spec names. A new sink is a file beside this one, and a case here. */
export function createSink(spec: Subscription['sink'], context: SinkContext, deps: SinkDependencies): Promise<Sink> {
  switch (spec.type) {
    case 'kafka':
      return createKafkaSink(spec, context, deps);
    case 'postgres-enforcement':
      return createPostgresEnforcementSink(spec, context, deps);
  }
}
