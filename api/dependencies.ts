import type { S3Client } from '@aws-sdk/client-s3';
import type { Client as TemporalClient } from '@temporalio/client';
import type cassandra from 'cassandra-driver';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Producer } from 'kafkajs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import type { Config } from '../lib/platform/config.js';
import type { IncidentStore } from '../lib/stores/incidents.js';

/**
 * What the API's routes are given and what they are added to. Its own file, so a route module depends on these
 * types and not on api/server.ts, which imports every route module.
 */

export interface ApiDependencies {
  config: Config;
  postgres: pg.Pool;
  producer: Producer;
  s3: S3Client;
  incidents: IncidentStore;
  /** The metadata lake, for annotations and lineage. */
  cassandra: cassandra.Client;
  /** Starts, watches and cancels ingestion runs. */
  temporal: TemporalClient;
}

/** The Fastify instance routes are added to: its schemas are zod's, so handlers see the validated types. */
export type Api = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;
