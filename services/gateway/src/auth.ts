import { hash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CacheError, type ApiTokenRecord, type Role } from '@llm-cache/core';
import type { TokenStore } from '@llm-cache/storage';

/** Who is calling: a role and the tenant it acts in (`*`: the bootstrap admin, every tenant). */
export interface Principal {
  tokenId: string | null;
  role: Role;
  tenant: string;
}

/** Each role includes the ones ranked below it; `metrics` is outside the ranks and includes none. */
const RANK: Record<Role, number> = { metrics: -1, reader: 0, writer: 1, admin: 2 };

export const hashToken = (secret: string): string => hash('sha256', secret, 'hex');

/** The tenant of metrics tokens: they belong to none, and only the bootstrap admin lists or revokes them. */
export const ALL_TENANTS = '*';

/**
 * True when the principal's role includes the required one. The metrics (every tenant's figures) are
 * for metrics tokens, the bootstrap admin and, without required tokens, the anonymous caller on loopback.
 */
export function allows(principal: Principal, required: Role): boolean {
  if (required === 'metrics') return principal.role === 'metrics' || principal.tenant === ALL_TENANTS || principal.tokenId === null;
  return RANK[principal.role] >= RANK[required];
}

export interface AuthOptions {
  required: boolean;
  adminToken: string | undefined;
  defaultTenant: string;
  tokens: TokenStore;
  /** Tells the other gateways a token was revoked (they cache tokens too). */
  announceRevocation?: () => Promise<void>;
}

/**
 * Resolves `Authorization: Bearer <token>` to a principal. Tokens are looked up by the SHA-256 of
 * their secret (the secret itself is never stored), with a short cache that every gateway clears when
 * any of them revokes a token: a revocation applies at once at the gateway that made it, as soon as the
 * others read the control topic, and everywhere after the cache's 5 s lifetime at the latest. Without `required`, a request without a token of ours acts as admin of the default tenant
 * (the server then listens on loopback only) and its Authorization header is left for the upstream.
 */
export class Authenticator {
  private readonly cache = new LRUCache<string, { record: ApiTokenRecord | null }>({ max: 10_000, ttl: 5_000 });
  private readonly adminHash: Buffer | undefined;

  constructor(private readonly options: AuthOptions) {
    this.adminHash = options.adminToken ? Buffer.from(hashToken(options.adminToken), 'hex') : undefined;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const anonymous: Principal = { tokenId: null, role: 'admin', tenant: this.options.defaultTenant };
    if (authorization === undefined || authorization === '') {
      if (this.options.required) throw new CacheError('LLMCACHE_UNAUTHORIZED', 'an API token is required: Authorization: Bearer <token>');
      return anonymous;
    }
    const match = /^Bearer\s+(\S{8,512})$/i.exec(authorization);
    if (!match?.[1]) {
      // Without required tokens, a header that is no token (an upstream key an OpenAI client sends) is not ours to judge.
      if (!this.options.required) return anonymous;
      throw new CacheError('LLMCACHE_UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"');
    }
    const hash = hashToken(match[1]);
    if (this.adminHash && timingSafeEqual(this.adminHash, Buffer.from(hash, 'hex')))
      return { tokenId: 'bootstrap-admin', role: 'admin', tenant: ALL_TENANTS };
    let cached = this.cache.get(hash);
    if (!cached) {
      cached = { record: await this.options.tokens.findByHash(hash) };
      this.cache.set(hash, cached);
    }
    if (!cached.record) {
      if (!this.options.required) return anonymous;
      throw new CacheError('LLMCACHE_UNAUTHORIZED', 'unknown or revoked API token');
    }
    return { tokenId: cached.record.id, role: cached.record.role, tenant: cached.record.tenant };
  }

  /** Creates a token; the secret is returned once and only its hash is kept. */
  async create(input: { name: string; role: Role; tenant: string }): Promise<{ token: string; record: ApiTokenRecord }> {
    const token = `llmc_${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      id: randomUUID(),
      name: input.name,
      role: input.role,
      tenant: input.tenant,
      hash: hashToken(token),
      createdAt: Date.now(),
    };
    await this.options.tokens.put(record);
    return { token, record };
  }

  async list(tenant: string): Promise<ApiTokenRecord[]> {
    return this.options.tokens.list(tenant === ALL_TENANTS ? undefined : tenant);
  }

  async revoke(id: string, tenant: string): Promise<boolean> {
    const removed = await this.options.tokens.delete(id, tenant === ALL_TENANTS ? undefined : tenant);
    this.forget();
    if (removed) await this.options.announceRevocation?.();
    return removed;
  }

  /** Drops every cached token lookup. */
  forget(): void {
    this.cache.clear();
  }
}
