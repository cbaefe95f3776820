import { CacheError } from '@llm-cache/core';

/** Scales `vec` in place to unit length and returns it; throws LLMCACHE_EMBEDDING on a zero or non-finite vector. */
export function l2normalize(vec: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vec) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new CacheError('LLMCACHE_EMBEDDING', `cannot normalize an embedding of norm ${norm}`);
  }
  for (let k = 0; k < vec.length; k += 1) vec[k] = (vec[k] as number) / norm;
  return vec;
}

/** Dot product; the cosine similarity of two normalized vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let k = 0; k < a.length; k += 1) sum += (a[k] as number) * (b[k] as number);
  return sum;
}
