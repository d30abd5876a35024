/** Running claims: each in turn, timed, with thrown errors turned into failed verdicts (never lost). */
import type { Backend } from '../backend/types.ts';
import { Rng } from '../core/random.ts';
import type { Claim, ClaimSize, Verdict } from './types.ts';

export interface ClaimResult {
  readonly claim: Claim;
  readonly verdict: Verdict;
  readonly seconds: number;
  /** Set when the check threw: the verdict is then a failure carrying the message. */
  readonly error?: string;
}

export interface RunClaimsOptions {
  readonly size: ClaimSize;
  readonly backend: Backend;
  /** A float32 backend under test (see ClaimContext.f32Backend). */
  readonly f32Backend?: Backend;
  /** Base seed; each claim derives its generators from (seed, claim id, label). Default 0. */
  readonly seed?: number;
  readonly onStart?: (claim: Claim, index: number, count: number) => void;
  readonly onProgress?: (claim: Claim, message: string) => void;
  readonly onDone?: (result: ClaimResult, index: number, count: number) => void;
}

/** Whether a result counts as a failure of the catalogue: an unexpected verdict or an error. */
export function isFailure(r: ClaimResult): boolean {
  return r.error !== undefined || !r.verdict.pass;
}

export async function runClaims(claims: readonly Claim[], opts: RunClaimsOptions): Promise<ClaimResult[]> {
  const out: ClaimResult[] = [];
  for (const [i, claim] of claims.entries()) {
    opts.onStart?.(claim, i, claims.length);
    const t0 = performance.now();
    let result: ClaimResult;
    try {
      const verdict = await claim.check({
        size: opts.size,
        backend: opts.backend,
        ...(opts.f32Backend ? { f32Backend: opts.f32Backend } : {}),
        rng: (label) => Rng.fromSeed(`${opts.seed ?? 0}:${claim.id}:${label}`),
        progress: (m) => opts.onProgress?.(claim, m),
      });
      result = { claim, verdict, seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      result = {
        claim, seconds: (performance.now() - t0) / 1000, error: message,
        verdict: { pass: false, margin: Number.NaN, marginUnit: '', numbers: {}, summary: `the check threw: ${message}` },
      };
    }
    out.push(result);
    opts.onDone?.(result, i, claims.length);
  }
  return out;
}
