/**
 * The rate of a count that grows (a progress bar's value) over the last `windowMs`, and the time left at that rate:
 * a recent window, so a slow start (a Spark job's set-up) does not hold the estimate down for the whole run.
 */
export class RateMeter {
  private readonly samples: { atMs: number; value: number }[] = [];

  constructor(private readonly windowMs = 30_000) {}

  add(atMs: number, value: number): void {
    this.samples.push({ atMs, value });
    // The oldest sample kept is the last one at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && this.samples[1]!.atMs <= atMs - this.windowMs) this.samples.shift();
  }

  /** Per second; undefined until two samples a second apart. */
  perSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.atMs - first.atMs < 1_000) return undefined;
    return ((last.value - first.value) * 1_000) / (last.atMs - first.atMs);
  }

  /** Milliseconds to reach `total` at the current rate; undefined while there is no rate (or it is not growing). */
  etaMs(total: number): number | undefined {
    const rate = this.perSecond();
    const last = this.samples.at(-1);
    if (!rate || rate <= 0 || !last) return undefined;
    return (Math.max(0, total - last.value) * 1_000) / rate;
  }
}
