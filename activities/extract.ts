import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { ExtractManifest, Rejection } from '../lib/ingest/contracts.js';
import { createExtractor, ExtractionError, type ExtractorDeps } from '../lib/extractors/index.js';
import { runObjectKeys } from '../lib/platform/objectKeys.js';
import { RawPartWriter } from '../lib/ingest/rawParts.js';
import type { SealingKeys } from '../lib/platform/secrets.js';
import type { ObjectStore } from '../lib/platform/objectStore.js';
import { loadConnection } from '../lib/stores/connections.js';
import type { LakeWriter } from '../lib/stores/lake.js';

export interface ExtractInput {
  tenant: string;
  connectionId: string;
  runId: string;
  buckets: number;
}

/** Only an unreachable source is worth retrying; wrong credentials or a missing database stay wrong. */
const RETRYABLE_EXTRACTION_CODES = new Set(['unreachable']);

export function createExtractActivities(deps: {
  postgres: pg.Pool;
  secretsKey: SealingKeys;
  store: ObjectStore;
  lake: LakeWriter;
  /** What every extractor is given; the tenant is each run's. */
  sources: Omit<ExtractorDeps, 'tenant'>;
}) {
  return {
    /**
     * Streams the source's catalog into S3 as bucketed raw parts and writes the manifest. A retry starts over
     * from an empty run prefix, so no part of a failed attempt survives into the next.
     */
    async extractToS3(input: ExtractInput): Promise<ExtractManifest> {
      const context = Context.current();
      const source = await loadConnection(deps.postgres, deps.secretsKey, input.tenant, input.connectionId);
      if (!source) {
        throw ApplicationFailure.nonRetryable(`tenant ${input.tenant} has no connection ${input.connectionId}`);
      }
      const keys = runObjectKeys(input.tenant, input.connectionId, input.runId);
      await deps.store.deletePrefix(keys.rawPrefix);
      const writer = new RawPartWriter(deps.store, keys, input.buckets);
      const rejections: Rejection[] = [];
      let extractor: ReturnType<typeof createExtractor> | undefined;
      let lastBeat = 0;
      try {
        extractor = createExtractor(source, { ...deps.sources, tenant: input.tenant });
        for await (const item of extractor.extract()) {
          if ('rejected' in item) {
            const { line, reason, raw } = item.rejected;
            rejections.push({
              sourceRef: `extract:${line}`,
              kind: 'unknown',
              path: '',
              reason,
              record: raw.slice(0, 10_000),
            });
          } else {
            await writer.add(item);
          }
          if (Date.now() - lastBeat > 2_000) {
            context.heartbeat({ records: writer.written });
            lastBeat = Date.now();
          }
        }
      } catch (error) {
        if (error instanceof ExtractionError) {
          const { code, message } = error;
          throw ApplicationFailure.create({
            type: `ExtractionError:${code}`,
            message,
            nonRetryable: !RETRYABLE_EXTRACTION_CODES.has(code),
          });
        }
        throw error;
      } finally {
        await extractor?.close();
      }
      const manifest = await writer.finish(rejections.length);
      await deps.lake.recordRejections(input.tenant, input.runId, rejections);
      await deps.store.putJson(keys.manifest, manifest);
      const shown: ExtractManifest = { ...manifest };
      delete shown.columnDigests; // a digest per bucket: too much for the workflow's history, and S3 has it
      return shown;
    },
  };
}
