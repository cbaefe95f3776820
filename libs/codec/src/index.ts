export * from './events.ts';
export { codecFor, schemaText, SCHEMA_DIR, ALL_TOPICS, type Codec } from './avro-codec.ts';
