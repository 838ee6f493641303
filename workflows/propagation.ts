import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  AnnotationRequest,
  ChangeInput,
  ChangeOutcome,
  ExpandInput,
  ExpandResult,
  PropagationInput,
  PropagationStatus,
  RetractResult,
  WalkScope,
} from '../lib/propagation/contracts.js';
import { changeWorkflowId } from '../lib/temporal/workflowIds.js';
import { currentTrace, inTrace, type WorkflowTrace } from '../lib/temporal/workflowTrace.js';

export const annotationChangeSignal = defineSignal<[AnnotationRequest]>('annotationChange');
export const propagationStatusQuery = defineQuery<PropagationStatus>('status');

const { propagationRule, directValues, annotateSource, levelSlices, retractCopies, dropCopies } =
  proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
  });
const { expandLevel } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** A level wider than this is cut into slices walked by child workflows, a few at a time. */
const SLICE = 5_000;
const SLICES_AT_ONCE = 4;
/** Frontier assets read per page by one activity. */
const PAGE = 1_000;
/** Copies read per page when taking them back. */
const RETRACT_PAGE = 2_000;
/** Levels walked before the walk continues as new, so a very deep lineage keeps a short history. */
const LEVELS_PER_RUN = 200;
/** Change ids remembered, so a redelivered request is not applied twice. */
const REMEMBERED_CHANGES = 500;

/** A change waiting its turn, with the trace of the request that asked for it (absent when not traced). */
interface QueuedChange extends AnnotationRequest {
  trace?: WorkflowTrace;
}

interface PropagationCarry {
  pending: QueuedChange[];
  remembered: string[];
  recent: ChangeOutcome[];
}

/**
 * The propagation of one source asset: its changes arrive as signals and are walked one at a time, in arrival
 * order, each by a child workflow, so two changes of one asset never interleave. Each change's walk is in the
 * trace of the request that asked for it, not of the one that started this workflow.
 */
export async function assetPropagation(input: PropagationInput, carry?: PropagationCarry): Promise<ChangeOutcome[]> {
  const pending = carry?.pending ?? [];
  const remembered = carry?.remembered ?? [];
  const recent = carry?.recent ?? [];
  let current: string | null = null;
  setHandler(annotationChangeSignal, (request) => {
    const known = remembered.includes(request.changeId) || pending.some((p) => p.changeId === request.changeId);
    if (!known && current !== request.changeId) pending.push({ ...request, trace: currentTrace() });
  });
  setHandler(propagationStatusQuery, () => ({ pending: pending.length, current, recent }));

  for (let handled = 0; ;) {
    if (!(await condition(() => pending.length > 0, input.idleMs ?? 60_000))) return recent;
    const { trace, ...request } = pending.shift()!;
    current = request.changeId;
    const outcome = await inTrace(trace, () =>
      executeChild(propagateChange, {
        workflowId: changeWorkflowId(input.tenant, request.changeId),
        args: [{ tenant: input.tenant, source: input.qualifiedName, ...request }],
        searchAttributes: workflowInfo().searchAttributes,
      }),
    );
    current = null;
    remembered.push(request.changeId);
    remembered.splice(0, Math.max(0, remembered.length - REMEMBERED_CHANGES));
    recent.push(outcome);
    recent.splice(0, Math.max(0, recent.length - 20));
    if (++handled >= (input.changesPerRun ?? 100) || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof assetPropagation>(input, { pending, remembered, recent });
    }
  }
}

interface WalkCarry {
  depth: number;
  outcome: ChangeOutcome;
}

/**
 * One change, start to end. An addition sets the value on the source, walks lineage downstream level by level
 * (wide levels in slices, through child workflows), then takes back the copies an earlier addition made that
 * lineage no longer leads to. A removal takes back every copy the source gave. Either way an asset keeps a value
 * while any other source still gives it.
 */
export async function propagateChange(input: ChangeInput, carry?: WalkCarry): Promise<ChangeOutcome> {
  const { tenant, source, change, changeId } = input;
  const rule = await propagationRule({ tenant, attribute: change.attribute, value: change.value });
  const scope: WalkScope = { tenant, source, attribute: change.attribute, value: change.value, changeId, rule };
  const outcome = carry?.outcome ?? noOutcomeYet(input);

  if (change.op === 'remove') {
    await removeAtSource(scope, outcome);
    return outcome;
  }
  if (!carry) {
    if (change.attribute === 'description') await replaceOldDescriptions(scope, outcome);
    await giveToSource(scope, outcome);
  }
  if (rule.propagate) await walkDownstream(input, scope, outcome, carry?.depth ?? 0);
  // Copies an earlier addition of this value made where lineage no longer leads (or the policy no longer lets it).
  await retractAll(scope, outcome, true);
  return outcome;
}

const noOutcomeYet = ({ change, changeId }: ChangeInput): ChangeOutcome => ({
  changeId,
  op: change.op,
  attribute: change.attribute,
  value: change.value,
  reached: 0,
  retracted: 0,
  published: 0,
  depth: 0,
  truncated: false,
  notes: [],
});

/** A removal: every copy the source gave is taken back, wherever it went. */
async function removeAtSource(scope: WalkScope, outcome: ChangeOutcome): Promise<void> {
  const direct = await directValues({ tenant: scope.tenant, qualifiedName: scope.source, attribute: scope.attribute });
  if (!direct.includes(scope.value)) {
    outcome.notes.push(
      `${scope.attribute} ${JSON.stringify(scope.value)} is not set on this asset itself, so there is nothing to remove here (a value it holds through lineage is removed at its source)`,
    );
  }
  await takeBackEverywhere(scope, outcome);
}

/** One description per asset: a new one replaces the old, with everything the old one reached. */
async function replaceOldDescriptions(scope: WalkScope, outcome: ChangeOutcome): Promise<void> {
  for (const old of await directValues({
    tenant: scope.tenant,
    qualifiedName: scope.source,
    attribute: 'description',
  })) {
    if (old !== scope.value) await takeBackEverywhere({ ...scope, value: old }, outcome);
  }
}

async function takeBackEverywhere(scope: WalkScope, outcome: ChangeOutcome): Promise<void> {
  await retractAll(scope, outcome, false);
  await dropCopies(scope);
}

/** The value on the source itself, whether or not it goes further. */
async function giveToSource(scope: WalkScope, outcome: ChangeOutcome): Promise<void> {
  const given = await annotateSource(scope);
  outcome.reached++;
  outcome.published += given.published;
  if (!given.inCatalog) {
    outcome.notes.push(
      'the asset is not in the catalog (yet): the value is kept under its name and shows when it lands',
    );
  }
  if (!scope.rule.propagate) {
    outcome.notes.push(`the policy does not propagate ${scope.attribute} ${JSON.stringify(scope.value)}`);
  }
}

/**
 * Down the lineage, level by level from `depth`, until a level is empty, the policy's depth or its budget is
 * reached. A narrow level is one activity; a wide one is cut into slices. The walk continues as new every
 * LEVELS_PER_RUN levels.
 */
async function walkDownstream(input: ChangeInput, scope: WalkScope, outcome: ChangeOutcome, depth: number) {
  const { rule } = scope;
  for (let levels = 0; depth < rule.maxDepth; levels++) {
    if (outcome.truncated) {
      outcome.notes.push(
        `stopped after ${outcome.reached} assets: the policy's maxAssetsPerChange is ${rule.maxAssetsPerChange}`,
      );
      return;
    }
    if (levels >= LEVELS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof propagateChange>(input, { depth, outcome });
    }
    const { count, bounds } = await levelSlices({ ...scope, depth, step: SLICE });
    if (count === 0) return;
    outcome.depth = depth;
    depth = count <= SLICE ? await narrowLevel(scope, depth, outcome) : await wideLevel(scope, depth, bounds, outcome);
  }
}

/**
 * A level of at most SLICE assets: one activity walks it, and the small levels after it from memory. Returns the
 * depth the walk goes on from.
 */
async function narrowLevel(scope: WalkScope, depth: number, outcome: ChangeOutcome): Promise<number> {
  const result = await expandLevel({
    ...scope,
    range: { depth, from: null, to: null },
    pageSize: PAGE,
    deepenUpTo: SLICE,
    deepenForMs: 20_000,
    budget: scope.rule.maxAssetsPerChange - outcome.reached,
  });
  addUp(outcome, result);
  // It may have walked several levels: the last it gave the value at is the one before it stopped.
  if (result.reached > 0) outcome.depth = result.nextDepth - 1;
  return result.nextDepth;
}

/**
 * A wider level: cut at `bounds` into slices of about SLICE assets, each walked by a propagateSlice child,
 * SLICES_AT_ONCE at a time. Returns the depth the walk goes on from: the next level.
 */
async function wideLevel(scope: WalkScope, depth: number, bounds: string[], outcome: ChangeOutcome): Promise<number> {
  const edges = [null, ...bounds, null];
  const slices = edges.slice(0, -1).map((from, i) => ({ depth, from, to: edges[i + 1] ?? null }));
  // Each slice gets an equal share of what the policy still allows.
  const budget = Math.floor((scope.rule.maxAssetsPerChange - outcome.reached) / slices.length);
  for (let i = 0; i < slices.length; i += SLICES_AT_ONCE) {
    const results = await Promise.all(
      slices.slice(i, i + SLICES_AT_ONCE).map((range, j) =>
        executeChild(propagateSlice, {
          workflowId: `${workflowInfo().workflowId}/depth-${depth}/slice-${i + j}`,
          args: [{ ...scope, range, budget }],
          searchAttributes: workflowInfo().searchAttributes,
        }),
      ),
    );
    for (const result of results) {
      addUp(outcome, result);
      if (result.reached > 0) outcome.depth = depth + 1;
    }
  }
  return depth + 1;
}

function addUp(outcome: ChangeOutcome, result: ExpandResult): void {
  outcome.reached += result.reached;
  outcome.published += result.published;
  outcome.truncated ||= result.truncated;
}

/** One slice of a wide level: the frontier assets whose names fall in the range, page by page. */
export async function propagateSlice(input: WalkScope & Pick<ExpandInput, 'range' | 'budget'>): Promise<ExpandResult> {
  return expandLevel({ ...input, pageSize: PAGE, deepenUpTo: 0, deepenForMs: 0 });
}

/** Takes back the source's copies page by page: all of them, or (`staleOnly`) those this change did not reach. */
async function retractAll(scope: WalkScope, outcome: ChangeOutcome, staleOnly: boolean): Promise<void> {
  let pageState: string | null = null;
  do {
    const page: RetractResult = await retractCopies({ ...scope, staleOnly, pageSize: RETRACT_PAGE, pageState });
    outcome.retracted += page.retracted;
    outcome.published += page.published;
    pageState = page.next;
  } while (pageState);
}
