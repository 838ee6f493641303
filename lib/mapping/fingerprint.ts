import { createHash } from 'node:crypto';
import type { EstateAsset } from '../ingest/contracts.js';
import { byCodePoint } from './values.js';

/**
 * The canonical form of an asset's content (mappings/README.md): a JSON array, no whitespace, non-ASCII
 * characters as themselves, of the fields in this order, with tags deduplicated and sorted and properties as
 * [key, value] pairs sorted by key (both in code point order). Python's json.dumps(ensure_ascii=False,
 * separators=(',', ':')) writes the same bytes, so both engines hash alike.
 */
export function canonicalForm(asset: EstateAsset): string {
  return JSON.stringify([
    asset.qualifiedName,
    asset.assetType,
    asset.name,
    asset.parentQualifiedName,
    asset.dataType,
    asset.sourceDataType,
    asset.nullable,
    asset.defaultValue,
    asset.ordinal,
    asset.comment,
    [...new Set(asset.tags)].sort(byCodePoint),
    Object.entries(asset.properties).sort(([a], [b]) => byCodePoint(a, b)),
  ]);
}

/** sha256 (hex) of the canonical form's UTF-8 bytes: equal fingerprints mean nothing to write. */
export const fingerprint = (asset: EstateAsset): string =>
  createHash('sha256').update(canonicalForm(asset), 'utf8').digest('hex');
