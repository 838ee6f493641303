export * from './skeleton.js';
export * from './ingestEstate.js';
export * from './ingestColumns.js';
export * from './incident.js';
export * from './propagation.js';
