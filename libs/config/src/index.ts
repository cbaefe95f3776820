export { configSchema, type Config } from './schema.ts';
export { loadConfig, configLeaves, unknownEnvKeys, type LoadOptions } from './load.ts';
