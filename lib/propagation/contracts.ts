import { z } from 'zod';
import { EventEnvelope } from '../kafka/envelope.js';
import { LineageLevel, QualifiedName } from '../lineage/contracts.js';
import { TenantId } from '../platform/ids.js';

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

// ---------------------------------------------------------------------------------------------------------------
// The walk: what the propagation workflows, their activities and their callers (control/annotate.ts) say to each
// other. Inside Temporal, so never parsed at runtime; zod keeps them in the same form as every other contract.
// ---------------------------------------------------------------------------------------------------------------

/** A value one source gave one asset, and how it got there. */
export const Copy = z.object({
  qualifiedName: QualifiedName,
  depth: z.number().int().nonnegative(),
  /** The source first, then the hops that led here; see MAX_PATH (lib/propagation/walk.ts). */
  path: z.array(QualifiedName),
  /** Reached, but passes the value no further. */
  terminal: z.boolean(),
});
export type Copy = z.infer<typeof Copy>;

/** A copy as read back: with the change that last reached it. */
export const StoredCopy = Copy.extend({ changeId: z.string().nullable() });
export type StoredCopy = z.infer<typeof StoredCopy>;

/** A copy about to be made, with the asset's type when lineage knows it (for the outbound event). */
export const Reached = Copy.extend({ assetType: z.string().nullable() });
export type Reached = z.infer<typeof Reached>;

/** The copies at one depth whose names fall in a range: a level, or one slice of a wide level. */
export const DepthRange = z.object({
  depth: z.number().int().nonnegative(),
  /** Inclusive lower bound of qualified names, or null from the first. */
  from: z.string().nullable(),
  /** Exclusive upper bound, or null to the last. */
  to: z.string().nullable(),
});
export type DepthRange = z.infer<typeof DepthRange>;

/** One change's walk: a value of an attribute, given by one source asset, on behalf of one request. */
export const WalkScope = z.object({
  tenant: TenantId,
  source: QualifiedName,
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  changeId: z.string(),
  rule: ResolvedPropagation,
});
export type WalkScope = z.infer<typeof WalkScope>;

/** What expandLevel walks: a range of one level, and (when it is small and whole) the levels after it. */
export const ExpandInput = WalkScope.extend({
  range: DepthRange,
  /** Frontier assets read per page. */
  pageSize: z.number().int().positive(),
  /**
   * Go on to the next levels in this same call while each is at most this big, for up to `deepenForMs`: a deep
   * chain then costs a few activities, not one per level.
   */
  deepenUpTo: z.number().int().nonnegative(),
  deepenForMs: z.number().int().nonnegative(),
  /** Assets this call may still give the value to: the policy's maxAssetsPerChange, less what the walk reached. */
  budget: z.number().int(),
});
export type ExpandInput = z.infer<typeof ExpandInput>;

export const ExpandResult = z.object({
  /** Assets this call gave the value to (or refreshed), over every level it walked. */
  reached: z.number().int().nonnegative(),
  /** Outbound events published. */
  published: z.number().int().nonnegative(),
  /** The walk continues from this depth's copies (a level this call did not finish, or the first it did not start). */
  nextDepth: z.number().int().nonnegative(),
  /** The budget ran out: some assets the walk would have reached were not given the value. */
  truncated: z.boolean(),
});
export type ExpandResult = z.infer<typeof ExpandResult>;

/** One page of the source's copies to take back (retractCopies). */
export const RetractInput = WalkScope.extend({
  /** Only the copies an earlier change made and this one did not reach; otherwise every copy. */
  staleOnly: z.boolean(),
  pageSize: z.number().int().positive(),
  /** Where the previous page ended; null for the first. */
  pageState: z.string().nullable(),
});
export type RetractInput = z.infer<typeof RetractInput>;

export const RetractResult = z.object({
  /** Copies taken back. */
  retracted: z.number().int().nonnegative(),
  /** Outbound events published. */
  published: z.number().int().nonnegative(),
  /** Where the next page starts; null after the last. */
  next: z.string().nullable(),
});
export type RetractResult = z.infer<typeof RetractResult>;

/** A change asked of one asset, with the id it was asked under (a Kafka event id, an HTTP request's). */
export const AnnotationRequest = z.object({ change: AnnotationChange, changeId: z.string() });
export type AnnotationRequest = z.infer<typeof AnnotationRequest>;

/** The input of one asset's propagation workflow (assetPropagation). */
export const PropagationInput = z.object({
  tenant: TenantId,
  qualifiedName: QualifiedName,
  /** Without a change for this long the workflow ends; the next change starts it again. */
  idleMs: z.number().int().positive().optional(),
  /** Changes handled before continuing as new. */
  changesPerRun: z.number().int().positive().optional(),
});
export type PropagationInput = z.infer<typeof PropagationInput>;

/** The input of one change's walk (propagateChange). */
export const ChangeInput = AnnotationRequest.extend({ tenant: TenantId, source: QualifiedName });
export type ChangeInput = z.infer<typeof ChangeInput>;

/** What one change did, over its whole walk. */
export const ChangeOutcome = z.object({
  changeId: z.string(),
  op: z.enum(['add', 'remove']),
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  /** Assets given the value (the source included), or refreshed when it was given again. */
  reached: z.number().int().nonnegative(),
  /** Copies taken back: all of them on a removal, the stale ones (lineage gone since) on an addition. */
  retracted: z.number().int().nonnegative(),
  /** Outbound events published. */
  published: z.number().int().nonnegative(),
  /** The deepest level the walk got to. */
  depth: z.number().int().nonnegative(),
  /** Set when the walk stopped at the policy's maxAssetsPerChange. */
  truncated: z.boolean(),
  /** What the caller should know: the change did nothing and why, the asset is not in the catalog, the walk stopped. */
  notes: z.array(z.string()),
});
export type ChangeOutcome = z.infer<typeof ChangeOutcome>;

/** What an asset's propagation workflow answers its `status` query with. */
export const PropagationStatus = z.object({
  pending: z.number().int().nonnegative(),
  current: z.string().nullable(),
  recent: z.array(ChangeOutcome),
});
export type PropagationStatus = z.infer<typeof PropagationStatus>;
