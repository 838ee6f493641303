import type { z } from 'zod';
import { sinkTopicProblem, type KafkaSinkSpec } from '../contracts.js';
import { ensureTopic } from '../../kafka/ensureTopic.js';
import type { Sink, SinkContext, SinkDependencies } from './sink.js';

/**
 * Publishes each reshaped change to the subscription's topic (metasync.sink.<tenant>.<name>, which only that tenant
 * may read), keyed by qualified name like the outbound topic.
 */
export async function createKafkaSink(
  spec: z.infer<typeof KafkaSinkSpec>,
  context: SinkContext,
  deps: SinkDependencies,
): Promise<Sink> {
  // Checked when saved too; a spec saved before the rule, or written straight to PostgreSQL, is refused here.
  const problem = sinkTopicProblem(context.tenant, spec);
  if (problem) throw new Error(problem);
  await ensureTopic(deps.kafka, spec.topic, deps.config.kafka.tenantPartitions);
  return {
    async deliver(event, record) {
      await deps.producer.send({
        topic: spec.topic,
        acks: -1,
        messages: [
          {
            key: event.payload.qualifiedName,
            value: JSON.stringify(record),
            // The event id survives any reshape, so a consumer can drop the repeats a redelivery makes.
            headers: { tenant: context.tenant, subscription: context.subscriptionId, 'event-id': event.id },
          },
        ],
      });
      return { outcome: 'delivered' };
    },
    close: () => Promise.resolve(),
  };
}
