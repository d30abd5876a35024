/** Kahan–Babuška (Neumaier) compensated running sum: `add` terms, read `value` (sum + compensation). */
export class CompensatedSum {
  s = 0;
  c = 0;
  add(x: number): void {
    const t = this.s + x;
    this.c += Math.abs(this.s) >= Math.abs(x) ? this.s - t + x : x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}
