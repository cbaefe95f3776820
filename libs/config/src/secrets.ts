import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CacheError } from '@llm-cache/core';

/**
 * Secrets at rest: any string value in a config file (or LLMCACHE_* variable) written as
 * `enc:v1:<base64url(iv | tag | ciphertext)>` is AES-256-GCM encrypted and decrypted at load with the
 * key from LLMCACHE_SECRET_KEY or the file named by LLMCACHE_SECRET_KEY_FILE (32 bytes, base64 or hex).
 * The key never sits next to the config, so a leaked config file leaks no API key.
 */
export const SECRET_PREFIX = 'enc:v1:';
export const SECRET_KEY_ENV = 'LLMCACHE_SECRET_KEY';
export const SECRET_KEY_FILE_ENV = 'LLMCACHE_SECRET_KEY_FILE';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A new random key, base64, for `llm-cache secret keygen`. */
export function generateSecretKey(): string {
  return randomBytes(32).toString('base64');
}

/** Parses a 32-byte key given as base64 or 64 hex digits; `source` names where it came from in errors. */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new CacheError('LLMCACHE_CONFIG', `${source} must hold a 32-byte key (base64 or 64 hex digits); see \`llm-cache secret keygen\``);
  }
  return key;
}

/** The key from the environment, or undefined when none is configured. */
export function secretKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const inline = env[SECRET_KEY_ENV];
  if (inline !== undefined && inline !== '') return parseSecretKey(inline, SECRET_KEY_ENV);
  const file = env[SECRET_KEY_FILE_ENV];
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `cannot read the secret key file ${file} (${SECRET_KEY_FILE_ENV}): ${(error as Error).message}`,
    );
  }
  return parseSecretKey(text, `the secret key file ${file}`);
}

export function encryptSecret(plain: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return SECRET_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Decrypts one value; `where` (a config key) names it in errors, which never contain the value. */
export function decryptSecret(value: string, key: Buffer, where: string): string {
  const packed = Buffer.from(value.slice(SECRET_PREFIX.length), 'base64url');
  if (packed.length < IV_BYTES + TAG_BYTES) throw new CacheError('LLMCACHE_CONFIG', `${where}: the encrypted value is truncated`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, packed.subarray(0, IV_BYTES));
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `${where}: cannot decrypt the value with the configured secret key (wrong key or altered value)`,
    );
  }
}

/** Returns a copy of the raw configuration with every `enc:v1:` string decrypted. */
export function decryptSecrets(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  let key: Buffer | undefined;
  const visit = (value: unknown, path: string[]): unknown => {
    if (typeof value === 'string' && value.startsWith(SECRET_PREFIX)) {
      const where = path.join('.');
      key ??= secretKeyFromEnv(env);
      if (key === undefined) {
        throw new CacheError('LLMCACHE_CONFIG', `${where} is encrypted: set ${SECRET_KEY_ENV} or ${SECRET_KEY_FILE_ENV} to its key`);
      }
      return decryptSecret(value, key, where);
    }
    if (Array.isArray(value)) return value.map((item, i) => visit(item, [...path, String(i)]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, [...path, k])]));
    }
    return value;
  };
  return visit(raw, []) as Record<string, unknown>;
}

const SECRET_KEYS = /^(apiKey|adminToken|password|secretAccessKey|passphrase)$/;

/**
 * Every secret value of a configuration: keys named like a secret, and passwords inside URLs.
 * The logger and the error handler scrub these from everything they print.
 */
export function secretsOf(config: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (SECRET_KEYS.test(key) && value.length > 0) found.add(value);
      const password = /^[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:([^@/\s]+)@/i.exec(value)?.[1];
      if (password) {
        found.add(password);
        try {
          found.add(decodeURIComponent(password));
        } catch {
          // not percent-encoded: the raw form is already listed
        }
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(config, '');
  return [...found];
}
