import type { ActivityDependencies } from '../activities/index.js';
import { openClients } from '../lib/platform/clients.js';
import type { Config } from '../lib/platform/config.js';

/** The clients the activities use, as the worker's Kafka principal. */
export const ACTIVITY_CLIENTS = { kafka: 'worker', producer: true, postgres: true, cassandra: true, s3: true } as const;

/** Connects what the activities use, and says how to let go of it. */
export async function createActivityDependencies(
  config: Config,
): Promise<ActivityDependencies & { close(): Promise<void> }> {
  return { ...(await openClients(config, ACTIVITY_CLIENTS)), config };
}
