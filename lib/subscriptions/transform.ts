import type { AnnotationChanged } from '../propagation/contracts.js';
import type { SubscriptionFilter, SubscriptionReshape } from './contracts.js';

/** What a subscription does to each change before its sink sees it: pure, so it is the same on every replay. */

type Fields = Record<string, unknown>;

export function matches(filter: SubscriptionFilter, event: AnnotationChanged): boolean {
  const { attribute, value, assetType, change } = event.payload;
  return (
    (!filter.attributes || filter.attributes.includes(attribute)) &&
    (!filter.values || filter.values.includes(value)) &&
    (!filter.assetTypes || (assetType !== null && filter.assetTypes.includes(assetType))) &&
    (!filter.changes || filter.changes.includes(change))
  );
}

/** Pick (or keep everything), rename, add; a picked or renamed path the event does not have is left out. */
export function reshape(spec: SubscriptionReshape, event: AnnotationChanged): Fields {
  // A copy, so moving fields around never touches the event the sink may also read.
  const source = structuredClone(event) as Fields;
  let record: Fields = source;
  if (spec.pick) {
    record = {};
    for (const path of spec.pick) {
      const value = getPath(source, path);
      if (value !== undefined) setPath(record, path, value);
    }
  }
  for (const [from, to] of Object.entries(spec.rename ?? {})) {
    const value = getPath(record, from);
    if (value === undefined) continue;
    deletePath(record, from);
    setPath(record, to, value);
  }
  for (const [path, value] of Object.entries(spec.add ?? {})) setPath(record, path, structuredClone(value));
  return record;
}

const isFields = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function getPath(record: Fields, path: string): unknown {
  let current: unknown = record;
  for (const segment of path.split('.')) {
    if (!isFields(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function setPath(record: Fields, path: string, value: unknown): void {
  const segments = path.split('.');
  const leaf = segments.pop()!;
  let current = record;
  for (const segment of segments) {
    const next = current[segment];
    current = isFields(next) ? next : (current[segment] = {});
  }
  current[leaf] = value;
}

/** Removes the field, and the objects it leaves empty, so a renamed `payload.value` leaves no `payload: {}`. */
function deletePath(record: Fields, path: string): void {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) {
    delete record[head];
    return;
  }
  const child = record[head];
  if (!isFields(child)) return;
  deletePath(child, rest.join('.'));
  if (Object.keys(child).length === 0) delete record[head];
}
