import { readFileSync } from 'node:fs';
import { CacheError } from '@llm-cache/core';
import { encryptSecret, generateSecretKey, secretKeyFromEnv, SECRET_KEY_ENV, SECRET_KEY_FILE_ENV } from '@llm-cache/config';

export interface GatewayFlags {
  url: string;
  token?: string;
}

/** Calls an admin route of the gateway and returns its JSON, or throws with the gateway's error. */
async function callGateway(flags: GatewayFlags, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${flags.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(flags.token ? { authorization: `Bearer ${flags.token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new CacheError('LLMCACHE_UNAVAILABLE', `${response.status} from the gateway: ${text.slice(0, 500)}`);
  return JSON.parse(text) as unknown;
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** `llm-cache token create`: prints the new token once (only its hash is stored). */
export async function tokenCreateCommand(flags: GatewayFlags & { name: string; role: string; tenant?: string }): Promise<void> {
  print(
    await callGateway(flags, 'POST', '/v1/admin/tokens', {
      name: flags.name,
      role: flags.role,
      ...(flags.tenant ? { tenant: flags.tenant } : {}),
    }),
  );
}

export async function tokenListCommand(flags: GatewayFlags): Promise<void> {
  print(await callGateway(flags, 'GET', '/v1/admin/tokens'));
}

export async function tokenRevokeCommand(id: string, flags: GatewayFlags): Promise<void> {
  print(await callGateway(flags, 'DELETE', `/v1/admin/tokens/${encodeURIComponent(id)}`));
}

/** `llm-cache secret keygen`: a new 32-byte key for LLMCACHE_SECRET_KEY or a key file. */
export function secretKeygenCommand(): void {
  process.stdout.write(`${generateSecretKey()}\n`);
}

/**
 * `llm-cache secret encrypt`: reads one secret from standard input (so it stays out of the shell
 * history and the process list) and prints its `enc:v1:` form for the config file.
 */
export function secretEncryptCommand(): void {
  const key = secretKeyFromEnv();
  if (key === undefined)
    throw new CacheError('LLMCACHE_CONFIG', `set ${SECRET_KEY_ENV} or ${SECRET_KEY_FILE_ENV} to the key to encrypt with`);
  const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (value === '') throw new CacheError('LLMCACHE_CONFIG', 'no secret on standard input');
  process.stdout.write(`${encryptSecret(value, key)}\n`);
}
