export { configSchema, type Config } from './schema.ts';
export { loadConfig, configLeaves, unknownEnvKeys, type LoadOptions } from './load.ts';
export {
  decryptSecret,
  decryptSecrets,
  encryptSecret,
  generateSecretKey,
  parseSecretKey,
  secretKeyFromEnv,
  secretsOf,
  SECRET_KEY_ENV,
  SECRET_KEY_FILE_ENV,
  SECRET_PREFIX,
} from './secrets.ts';
