import { z } from 'zod';
import { EventEnvelope } from '../kafka/envelope.js';
import { LineageLevel, QualifiedName } from '../lineage/contracts.js';

// ---------------------------------------------------------------------------------------------------------------
// Annotations (classification, tag, owner, description) set on an asset flow along lineage edges, each copy
// attributed to the asset it was set on and the path it took; the policy says how far and where not.
// ---------------------------------------------------------------------------------------------------------------

/** What can be annotated, and what propagates by default (lib/propagation/policy.ts has the rules). */
export const AnnotationAttribute = z.enum(['classification', 'tag', 'owner', 'description']);
export type AnnotationAttribute = z.infer<typeof AnnotationAttribute>;

/** PII and GDPR are the classifications enforcement acts on; any other label is a custom classification. */
export const ClassificationLabel = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/,
    'a classification or tag is a letter then up to 63 letters, digits, _ . : -',
  );

export const AnnotationValue = z.string().min(1).max(4096);

/** One change a user asks for on one asset. */
export const AnnotationChange = z
  .object({
    qualifiedName: QualifiedName,
    op: z.enum(['add', 'remove']),
    attribute: AnnotationAttribute,
    value: AnnotationValue,
    /** Who asked (an API key's name, a user, a producer), kept with the change. */
    actor: z.string().min(1).max(200),
  })
  .superRefine((change, context) => {
    if (change.attribute !== 'classification' && change.attribute !== 'tag') return;
    const label = ClassificationLabel.safeParse(change.value);
    if (!label.success) context.addIssue({ code: 'custom', path: ['value'], message: label.error.issues[0]!.message });
  });
export type AnnotationChange = z.infer<typeof AnnotationChange>;

/** `asset.annotation-requested` on the commands topic: the Kafka way to annotate an asset. */
export const AnnotationRequested = EventEnvelope.extend({
  type: z.literal('asset.annotation-requested'),
  version: z.literal(1),
  payload: AnnotationChange,
});
export type AnnotationRequested = z.infer<typeof AnnotationRequested>;

/** Where a copy of an annotation came from: the asset it was set on, and the lineage path from there. */
export const Attribution = z.object({
  source: QualifiedName,
  /** From the source to this asset, both included; [source] for the source itself. */
  path: z.array(QualifiedName),
  depth: z.number().int().nonnegative(),
});
export type Attribution = z.infer<typeof Attribution>;

/** An annotation as an asset holds it: one value, with every attribution that currently gives it. */
export const EffectiveAnnotation = z.object({
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  attributions: z.array(Attribution),
});
export type EffectiveAnnotation = z.infer<typeof EffectiveAnnotation>;

/**
 * `asset.annotation-changed` on the tenant's outbound topic (metasync.outbound.<tenant>), keyed by qualified name:
 * an asset gained a value it did not have, or lost its last attribution of one. Copies that change nothing an
 * outside tool can see (a second source giving a value already held) are not published.
 */
export const AnnotationChangedPayload = z.object({
  qualifiedName: QualifiedName,
  /** Null when the asset is not in the catalog (yet): lineage named it before ingestion did. */
  assetType: z.string().nullable(),
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  change: z.enum(['added', 'removed']),
  /** The copy that made the change: for `removed`, the last one that went. */
  attribution: Attribution,
  /** Orders the changes of one asset: strictly increasing per asset (a microsecond logical clock). */
  sequence: z.number().int().positive(),
  /** The request that caused it, the same on every asset it reached. */
  changeId: z.string().min(1).max(200),
});
export type AnnotationChangedPayload = z.infer<typeof AnnotationChangedPayload>;

export const AnnotationChanged = EventEnvelope.extend({
  type: z.literal('asset.annotation-changed'),
  version: z.literal(1),
  payload: AnnotationChangedPayload,
});
export type AnnotationChanged = z.infer<typeof AnnotationChanged>;

/**
 * How annotations propagate, as data (policies/propagation.json, overridable per tenant). The first rule matching
 * an annotation's attribute and value decides; what a rule leaves out comes from the policy's defaults.
 */
export const PropagationRule = z.object({
  attribute: AnnotationAttribute,
  /** Values the rule is for (e.g. ["GDPR"]); absent for every value of the attribute. */
  values: z.array(AnnotationValue).optional(),
  propagate: z.boolean(),
  maxDepth: z.number().int().min(1).max(100_000).optional(),
  /** Lineage levels the value travels along; column classifications go column to column. */
  levels: z.array(LineageLevel).optional(),
  /** Assets of these types receive the value but pass it no further (a dashboard is an end). */
  stopAtAssetTypes: z.array(z.string()).optional(),
  /** Assets of these types neither receive nor pass the value. */
  excludeAssetTypes: z.array(z.string()).optional(),
});
export type PropagationRule = z.infer<typeof PropagationRule>;

export const PropagationPolicy = z.object({
  version: z.literal(1),
  defaults: z.object({
    maxDepth: z.number().int().min(1).max(100_000),
    levels: z.array(LineageLevel),
    stopAtAssetTypes: z.array(z.string()),
    excludeAssetTypes: z.array(z.string()),
    /** A change reaching more assets than this stops there and says so, rather than running away. */
    maxAssetsPerChange: z.number().int().min(1),
  }),
  rules: z.array(PropagationRule),
});
export type PropagationPolicy = z.infer<typeof PropagationPolicy>;

/** What one rule of a policy resolves to for one value. */
export const ResolvedPropagation = PropagationPolicy.shape.defaults.extend({ propagate: z.boolean() });
export type ResolvedPropagation = z.infer<typeof ResolvedPropagation>;
