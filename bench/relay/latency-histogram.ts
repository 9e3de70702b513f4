// Latencies in fixed 10 µs buckets up to 1 s: a few hundred thousand samples a second cost an
// increment each, no allocation, and histograms from several workers merge by adding counts.

const BUCKET_MS = 0.01;
const BUCKETS = 100_000;

export interface HistogramData {
  counts: number[];
  maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1);
  private maxMs = 0;

  add(latencyMs: number): void {
    const bucket = Math.min(BUCKETS, Math.max(0, Math.floor(latencyMs / BUCKET_MS)));
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
  }

  merge(data: HistogramData): void {
    data.counts.forEach((count, bucket) => (this.counts[bucket] = (this.counts[bucket] ?? 0) + count));
    this.maxMs = Math.max(this.maxMs, data.maxMs);
  }

  get count(): number {
    return this.counts.reduce((sum, count) => sum + count, 0);
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q ≤ 1), in ms. */
  quantile(q: number): number {
    const target = Math.ceil(this.count * q);
    let seen = 0;
    for (let bucket = 0; bucket <= BUCKETS; bucket++) {
      seen += this.counts[bucket] ?? 0;
      if (seen >= target && seen > 0) return bucket === BUCKETS ? this.maxMs : (bucket + 1) * BUCKET_MS;
    }
    return NaN;
  }

  get max(): number {
    return this.maxMs;
  }

  /** Plain numbers, to cross the IPC channel (about 200 kB of JSON, once per run). */
  data(): HistogramData {
    return { counts: Array.from(this.counts), maxMs: this.maxMs };
  }
}
