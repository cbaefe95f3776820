import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { CacheError } from '@llm-cache/core';
import { configSchema, type Config } from './schema.ts';
import { decryptSecrets, SECRET_KEY_ENV, SECRET_KEY_FILE_ENV } from './secrets.ts';

/** Environment variables that are read elsewhere and are not configuration keys. */
const NON_CONFIG_ENV = new Set(['LLMCACHE_CONFIG', 'LLMCACHE_MODEL_DIR', 'LLMCACHE_TOKEN', SECRET_KEY_ENV, SECRET_KEY_FILE_ENV]);
const NON_CONFIG_ENV_PREFIXES = ['LLMCACHE_STACK_', 'LLMCACHE_TEST_', 'LLMCACHE_BENCH_'];

type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'json';
interface Leaf {
  path: string[];
  env: string;
  kind: LeafKind;
}

const toSnake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Every leaf of the schema with its environment variable name. */
export function configLeaves(): Leaf[] {
  const leaves: Leaf[] = [];
  const walk = (schema: z.ZodType, path: string[]): void => {
    const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod
      .def;
    if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional') return walk(def.innerType as z.ZodType, path);
    if (def.type === 'record' || def.type === 'array') {
      leaves.push({ path, env: `LLMCACHE_${path.map(toSnake).join('_')}`, kind: 'json' });
      return;
    }
    if (def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape ?? {})) walk(child, [...path, key]);
      return;
    }
    const kind: LeafKind = def.type === 'number' || def.type === 'boolean' || def.type === 'enum' ? def.type : 'string';
    leaves.push({ path, env: `LLMCACHE_${path.map(toSnake).join('_')}`, kind });
  };
  walk(configSchema, []);
  return leaves;
}

function coerce(leaf: Leaf, raw: string): unknown {
  if (leaf.kind === 'json') {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  if (leaf.kind === 'number') {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (leaf.kind === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CacheError('LLMCACHE_CONFIG', `cannot read config file ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed: unknown = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a mapping');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new CacheError('LLMCACHE_CONFIG', `config file ${file} is not valid: ${(error as Error).message}`, { cause: error });
  }
}

export interface LoadOptions {
  /** A YAML or JSON file; defaults to $LLMCACHE_CONFIG. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values applied last (used by the CLI and by tests). */
  overrides?: Record<string, unknown>;
}

/** Unknown LLMCACHE_* variables, reported so typos do not pass silently. */
export function unknownEnvKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(configLeaves().map((leaf) => leaf.env));
  return Object.keys(env).filter(
    (key) =>
      key.startsWith('LLMCACHE_') &&
      !known.has(key) &&
      !NON_CONFIG_ENV.has(key) &&
      !NON_CONFIG_ENV_PREFIXES.some((prefix) => key.startsWith(prefix)),
  );
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/**
 * Loads, merges (file < environment < overrides) and validates the configuration once.
 * A bad value throws LLMCACHE_CONFIG naming the key (and its environment variable) and what it expected.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.LLMCACHE_CONFIG;
  let raw: Record<string, unknown> = file ? readFile(file) : {};
  const leaves = configLeaves();
  for (const leaf of leaves) {
    const value = env[leaf.env];
    if (value !== undefined) setPath(raw, leaf.path, coerce(leaf, value));
  }
  if (options.overrides) raw = deepMerge(raw, options.overrides);
  raw = decryptSecrets(raw, env);
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.');
    const leaf = leaves.find((l) => l.path.join('.') === key);
    const source = leaf && env[leaf.env] !== undefined ? ` (from ${leaf.env})` : file ? ` (in ${file})` : '';
    return `${key || '<root>'}${source}: ${issue.message}`;
  });
  throw new CacheError('LLMCACHE_CONFIG', `invalid configuration: ${problems.join('; ')}`);
}
