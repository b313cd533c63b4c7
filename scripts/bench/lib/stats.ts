/** Small statistics and formatting helpers for the benchmark's measures and report. */

/** The `p`-th percentile (0–100) of `values`, nearest-rank; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value < 10 ? round(value, 1) : Math.round(value)} ms`;
}

export function pct(ratio: number): string {
  return Number.isFinite(ratio) ? `${Math.round(ratio * 100)} %` : "n/a";
}

export function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

export function perSecond(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value).toLocaleString("en-US")}/s` : "n/a";
}

/** A progress line, with the seconds since the run started. */
export function createProgress(started = performance.now()): (line: string) => void {
  return (line) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4, " ");
    console.log(`[bench ${seconds}s] ${line}`);
  };
}
