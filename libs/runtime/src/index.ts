// The distributed adapters load Kafka, Milvus, MongoDB and S3 clients: import them from
// '@llm-cache/runtime/distributed' only where they are used.
export { startEmbedded, type RunningCache } from './embedded.ts';
export { SERVICE_NAMES, startServices, stopServices, type ServiceName, type ServiceContext } from './services.ts';
export { createEmbedder } from './embedder-factory.ts';
