/**
 * Named mutants: realistic implementation mistakes, built into the library behind one internal
 * switch so that the claims catalogue can be shown to detect them (the kill matrix of
 * scripts/mutants.ts, `npm run mutants`). A check that passes on a broken implementation is not
 * evidence; each claim names the mutants it must kill (Claim.mutants).
 *
 * The switch is this module's `withMutant`, reachable only by importing this file by path from a
 * development checkout: it is not exported from any entry point of the package (the `exports` map
 * refuses deep imports), and no CLI option or environment variable turns a mutant on in a normal run
 * (`contrastlab check --mutants` exists only when the sources are present, see src/cli/commands/check.ts).
 *
 * At each mutated site the library asks `mutant('id')`. Outside withMutant the call is one
 * comparison; inside, it also records which sites were reached, so a claim that never reaches a mutant's
 * site is reported "not reached" (it cannot kill it) instead of being run again.
 */

/** Every mutant, with the mistake it makes and where. */
export const MUTANTS = {
  'sogclr-gamma-one': 'SogCLR: γ forced to 1 (the moving average off: the plug-in/DCL estimator)',
  'u-sum-storage': 'SogCLR shared u: the two views\' values stored as their sum u1 + u2, not their mean',
  'batch-first-visit': 'SogCLR: the first-visit rule applied per batch (γ = 1 only if no entry of the batch was seen before)',
  'lse-no-max-shift': 'log-sum-exp computed as log Σ exp(S) without subtracting the maximum',
  'lse-f32-accumulation': 'float64 log-sum-exp with the exponentials accumulated in float32',
  'column-softmax-dropped': 'two-sided InfoNCE gradient: the column (v → u) softmax term dropped',
  'inv-tau-twice': 'gradient through S = UVᵀ/τ scaled by 1/τ twice',
  'eps0-ignored': 'GCL: ε₀ treated as 0 in the value and the weights',
  'osgd-min-loss': 'OSGD takes the minimum-loss batch instead of the maximum',
  'reshuffle-reuses-first-epoch': 'random reshuffling draws one permutation and reuses it every epoch',
  'spectral-unbalanced': 'spectral batches = the k-means clusters as they are (sizes vary), without the balanced assignment to B rows each',
  'riemannian-projection-dropped': 'the Euclidean gradient used on the sphere without its tangent projection',
  'robust-dual-no-log-m': 'iSogCLR robust dual: τ·log Σ e^{h/τ} + τρ, the 1/m of the uniform prior dropped',
  'all-batches-b-exponent': 'closed form of the all-batches ETF value with B in the exponent, log(1 + (B−1)·exp(−B/((B−1)τ))), instead of N',
  'bias-without-noise-correction': 'estimator bias reported as ‖x̄ − ∇F‖ (the sample mean\'s own noise included) instead of the group U-statistic',
  'simclr-eps0-clip-count': 'SimCLR\'s ε₀ taken as 1/(B−1) (CLIP\'s count of negatives) instead of 1/(2B−2)',
  'sigmoid-bias-sign': 'sigmoid loss: the bias added as −z·t·x − b (wrong sign for the negatives) instead of −z·(t·x + b)',
  'sigmoid-mean-over-pairs': 'sigmoid loss: the pair sum divided by N² (a mean over pairs) instead of N',
  'gather-without-grad': 'sharded InfoNCE: the features gathered from other shards carry no gradient back to them (a plain all_gather)',
  'shard-local-mean': 'sharded InfoNCE: each shard\'s loss normalised by its own size 1/(2n_k) and the shards summed, instead of 1/(2N)',
  'sneg-includes-diagonal': 'similarity statistics: the mean negative similarity taken over all N² pairs, the positives included',
} as const satisfies Record<string, string>;

export type MutantId = keyof typeof MUTANTS;

let active: string | null = null;
/** Sites reached, recorded only inside withMutant (so a normal run pays one comparison per site). */
let recording = false;
const reached = new Set<string>();

/** Whether mutant `id` is active; inside withMutant, records that its site was reached. */
export function mutant(id: MutantId): boolean {
  if (recording) reached.add(id);
  return active === id;
}

/** Runs `fn` with mutant `id` active (null: none); returns its result and the mutant sites it reached. */
export function withMutant<T>(id: MutantId | null, fn: () => T): { result: T; reached: ReadonlySet<string> } {
  if (id !== null && !(id in MUTANTS)) throw new Error(`unknown mutant '${id}'`);
  const before = active;
  const wasRecording = recording;
  active = id;
  recording = true;
  reached.clear();
  try {
    const result = fn();
    return { result, reached: new Set(reached) };
  } finally {
    active = before;
    recording = wasRecording;
  }
}

/** Async form of withMutant (for checks that await). */
export async function withMutantAsync<T>(id: MutantId | null, fn: () => Promise<T>): Promise<{ result: T; reached: ReadonlySet<string> }> {
  if (id !== null && !(id in MUTANTS)) throw new Error(`unknown mutant '${id}'`);
  const before = active;
  const wasRecording = recording;
  active = id;
  recording = true;
  reached.clear();
  try {
    const result = await fn();
    return { result, reached: new Set(reached) };
  } finally {
    active = before;
    recording = wasRecording;
  }
}
