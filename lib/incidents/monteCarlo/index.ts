/** Monte Carlo incident webhooks, without I/O: verify, decode, name the tables, and turn them into MetaSync events. */
export { decodeMonteCarloWebhook, type DecodedWebhook } from './decode.js';
export {
  formatFullTableId,
  parseFullTableId,
  parseGroupTable,
  parseMcon,
  parseTableIdentifier,
  qualifiedNameFor,
  tableRefFromMcon,
  type MonteCarloMcon,
  type MonteCarloTableRef,
} from './identity.js';
export {
  MONTE_CARLO_SIGNATURE_HEADER,
  monteCarloSignedText,
  signMonteCarloBody,
  verifyMonteCarloSignature,
} from './signature.js';
export { MONTE_CARLO_EVENT_SOURCE, toIncidentEvent } from './toIncidentEvents.js';
