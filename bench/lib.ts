/** Shared shape and helpers of the benchmarks; `npm run bench [name...]` runs them. */
export interface BenchResult {
  /** What was measured, e.g. "validate corpus x100". */
  name: string;
  /** Unit of `baseline` and `ours`, e.g. "files/s" or "ms". */
  unit: string;
  /** The baseline measured in the same run (null when the target is absolute). */
  baseline: number | null;
  baselineLabel?: string;
  ours: number;
  /** How the ratio reads: ours/baseline, where "higher" or "lower" is better. */
  better: 'higher' | 'lower';
  /** The target, in words, e.g. ">= 5000 files/s" or "ratio <= 1.15". */
  target: string;
  /** Whether the target was met. */
  met: boolean;
}

export interface Bench {
  name: string;
  run(): Promise<BenchResult[]>;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx];
}

/** Runs `fn` `times` times and returns each duration in milliseconds. */
export async function timeRuns(times: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
