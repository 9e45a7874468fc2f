// Events per second over the last minute, counted as events arrive on live subscriptions.

export class Throughput {
  private readonly counts: number[];
  private second: number;

  constructor(
    readonly seconds = 60,
    now: number = Date.now(),
  ) {
    this.counts = new Array<number>(seconds).fill(0);
    this.second = Math.floor(now / 1000);
  }

  add(n = 1, now: number = Date.now()): void {
    this.roll(now);
    this.counts[this.counts.length - 1]! += n;
  }

  /** [unix seconds, events in that second], oldest first, ending at the current second. */
  series(now: number = Date.now()): [number[], number[]] {
    this.roll(now);
    const xs = this.counts.map((_, i) => this.second - this.seconds + 1 + i);
    return [xs, [...this.counts]];
  }

  private roll(now: number): void {
    const second = Math.floor(now / 1000);
    const steps = Math.min(second - this.second, this.seconds);
    for (let i = 0; i < steps; i++) {
      this.counts.shift();
      this.counts.push(0);
    }
    if (second > this.second) this.second = second;
  }
}
