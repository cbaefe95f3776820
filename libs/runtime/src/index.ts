export { startEmbedded, type RunningCache } from './embedded.ts';
export { createEmbedder } from './embedder-factory.ts';
