/** Options of a ClusteredVectors generator. */
export interface ClusteredVectorsOptions {
  dimensions: number;
  /** Topic centres on the sphere. */
  clusters: number;
  seed: number;
  /** Spread of a cluster around its centre, drawn per cluster from this range (default 0.6..1.2). */
  spread?: [number, number];
  /** Directions along which a topic varies (default 16); the rest of the spread is isotropic noise. */
  rank?: number;
  /** Share of a topic's variance along its own directions (default 0.8). */
  structured?: number;
}

/**
 * Seeded, normalized vectors with the structure of sentence embeddings: a mixture of clusters on the
 * sphere (topics of Zipf-like popularity, each with its own spread, so two texts of one topic have a
 * cosine of about 0.4 to 0.75 and of two topics about 0). Texts of a topic differ mostly along a few
 * directions of their own, as embeddings have a low intrinsic dimension, plus isotropic noise.
 * Queries are small perturbations of stored points (paraphrases, cosine about 0.94 at the default
 * noise). The generator is mulberry32, because Math.random cannot be seeded and runs must repeat.
 */
export class ClusteredVectors {
  readonly dimensions: number;
  private state: number;
  private spare: number | undefined;
  private readonly centres: Float32Array;
  private readonly spreads: Float64Array;
  private readonly rank: number;
  private readonly structured: number;
  /** `rank` random directions per topic, rows of `dimensions`. */
  private readonly directions: Float32Array;
  /** Cumulative topic weights for drawing a topic. */
  private readonly weights: Float64Array;

  constructor(options: ClusteredVectorsOptions) {
    const { dimensions, clusters, seed } = options;
    const [low, high] = options.spread ?? [0.6, 1.2];
    this.dimensions = dimensions;
    this.state = seed >>> 0;
    this.centres = new Float32Array(clusters * dimensions);
    this.spreads = new Float64Array(clusters);
    this.weights = new Float64Array(clusters);
    this.rank = options.rank ?? 16;
    this.structured = options.structured ?? 0.8;
    this.directions = new Float32Array(clusters * this.rank * dimensions);
    let total = 0;
    for (let c = 0; c < clusters; c++) {
      const centre = this.centres.subarray(c * dimensions, (c + 1) * dimensions);
      for (let d = 0; d < dimensions; d++) centre[d] = this.gaussian();
      normalize(centre);
      this.spreads[c] = low + (high - low) * this.uniform();
      const scale = 1 / Math.sqrt(dimensions);
      const directions = this.directions.subarray(c * this.rank * dimensions, (c + 1) * this.rank * dimensions);
      for (let i = 0; i < directions.length; i++) directions[i] = scale * this.gaussian();
      total += 1 / (c + 1);
      this.weights[c] = total;
    }
    for (let c = 0; c < clusters; c++) this.weights[c] = (this.weights[c] as number) / total;
  }

  /** A uniform number in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A standard normal number (Box-Muller, both values used). */
  gaussian(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** `count` stored points, one per row of the returned array. */
  points(count: number): Float32Array {
    const dims = this.dimensions;
    const rank = this.rank;
    const out = new Float32Array(count * dims);
    const weights = new Float64Array(rank);
    for (let i = 0; i < count; i++) {
      const cluster = this.topic();
      const spread = this.spreads[cluster] as number;
      const noise = (spread * Math.sqrt(1 - this.structured)) / Math.sqrt(dims);
      const along = (spread * Math.sqrt(this.structured)) / Math.sqrt(rank);
      for (let j = 0; j < rank; j++) weights[j] = along * this.gaussian();
      const row = out.subarray(i * dims, (i + 1) * dims);
      const centre = cluster * dims;
      for (let d = 0; d < dims; d++) row[d] = (this.centres[centre + d] as number) + noise * this.gaussian();
      for (let j = 0; j < rank; j++) {
        const weight = weights[j] as number;
        const direction = (cluster * rank + j) * dims;
        for (let d = 0; d < dims; d++) row[d] = (row[d] as number) + weight * (this.directions[direction + d] as number);
      }
      normalize(row);
    }
    return out;
  }

  /** A normalized perturbation of `vector`: noise 0.35 gives a cosine of about 0.94 to it. */
  near(vector: Float32Array, noise = 0.35): Float32Array {
    const scale = noise / Math.sqrt(this.dimensions);
    const out = Float32Array.from(vector, (value) => value + scale * this.gaussian());
    return normalize(out);
  }

  private topic(): number {
    const draw = this.uniform();
    let low = 0;
    let high = this.weights.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.weights[mid] as number) < draw) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  for (let d = 0; d < vector.length; d++) vector[d] = (vector[d] as number) / norm;
  return vector;
}
