import type { Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../../platform/config.js';
import type { AnnotationChanged } from '../../propagation/contracts.js';

/**
 * What every sink is and is given. Its own file, so a sink depends on these types and not on ./index.ts, which
 * imports every sink.
 */

/**
 * What a sink did with one change. `ignored`: not its concern (another connection, another classification).
 * `skipped`: its concern, but no retry can apply it (the downstream has no such table), or only in part (a restricted
 * role it lacks); the change is dead-lettered with the reason. A sink that cannot take a change now (downstream down) throws, and gets the same change again.
 */
export type Delivery = { outcome: 'delivered' } | { outcome: 'ignored' } | { outcome: 'skipped'; reason: string };

export interface Sink {
  /** `record` is the change as the subscription reshaped it; `event` is the change itself. */
  deliver(event: AnnotationChanged, record: Record<string, unknown>): Promise<Delivery>;
  close(): Promise<void>;
}

export interface SinkDependencies {
  config: Config;
  kafka: Kafka;
  producer: Producer;
  /** metasync_production: connections, and the enforcement sink's state. */
  postgres: pg.Pool;
}

export interface SinkContext {
  tenant: string;
  subscriptionId: string;
}
