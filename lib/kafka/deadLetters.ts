import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IHeaders, Producer } from 'kafkajs';
import { createHash } from 'node:crypto';
import type { TenantId } from '../platform/ids.js';
import type { MessageOrigin } from './envelope.js';
import { printable } from '../platform/jsonInput.js';
import { deadLetterKey } from '../platform/objectKeys.js';
import { topics } from './topics.js';
import { deadLetterKind, metrics, reasonCode, type DeadLetterKind, type ReasonCode } from '../platform/metrics.js';

export interface RejectedMessage extends MessageOrigin {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  /** Only when the message's tenant could be trusted; otherwise it is kept apart from every tenant. */
  tenant?: TenantId;
  reason: string;
  /** For the metric: what was refused, when its topic does not say (a sink's refusal of an outbound change). */
  kind?: DeadLetterKind;
  /** For the metric: the reason's code, when its wording does not say (reasonCode reads the usual ones). */
  code?: ReasonCode;
}

/**
 * Keeps a rejected message: its raw bytes go to S3 first, then the dead-letter topic gets the message with the
 * reason and the S3 key in headers. Both writes are keyed by the source offset, so a replay overwrites, never adds.
 */
export async function deadLetter(s3: S3Client, bucket: string, producer: Producer, rejected: RejectedMessage) {
  // A reason may quote what was refused (a NUL, an unpaired surrogate): S3 metadata and headers must still take it.
  const message = { ...rejected, reason: printable(rejected.reason) };
  const digest = createHash('sha256')
    .update(message.value ?? Buffer.alloc(0))
    .digest('hex')
    .slice(0, 16);
  const archiveKey = deadLetterKey(message.tenant, message.topic, message.partition, message.offset, digest);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: archiveKey,
      Body: message.value ?? Buffer.alloc(0),
      Metadata: { reason: encodeURIComponent(message.reason.slice(0, 1024)), 'source-topic': message.topic },
    }),
  );
  await producer.send({
    topic: topics.deadLetters,
    acks: -1,
    messages: [
      {
        key: message.key,
        // Oversized payloads stay in S3 only: the dead-letter topic has the same size limit as the source.
        value: (message.value?.length ?? 0) > 512 * 1024 ? null : message.value,
        headers: {
          ...message.headers,
          'dlq-reason': message.reason.slice(0, 4096),
          'dlq-source-topic': message.topic,
          'dlq-source-partition': String(message.partition),
          'dlq-source-offset': message.offset,
          'dlq-archive-key': archiveKey,
          'dlq-at': new Date().toISOString(),
        },
      },
    ],
  });
  metrics.deadLetters.inc({
    kind: rejected.kind ?? deadLetterKind(message.topic),
    reason: rejected.code ?? reasonCode(message.reason),
  });
  return archiveKey;
}
