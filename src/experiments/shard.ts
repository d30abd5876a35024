/**
 * Shards of a study: which (arm, seed) runs one machine of several does, chosen deterministically
 * from the spec alone, so every machine of a job array computes the same plan without talking to
 * the others.
 *
 * The rule (planShards): runs are taken longest first by their step count (`totalSteps`), ties in
 * index order (arm-major, then seed: the order of runs/NNNN.json); each goes to the shard with the
 * fewest steps so far, ties to the lowest shard number. Each shard then runs its share in index
 * order. Shards are numbered 0..N-1 (`--shard I/N`).
 *
 * Without --shard, the shard comes from the environment of a job array (shardFromEnv):
 *   Slurm          SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN when set) of SLURM_ARRAY_TASK_COUNT
 *   Kubernetes     JOB_COMPLETION_INDEX (Indexed Jobs) with --shard-count N
 *   AWS Batch      AWS_BATCH_JOB_ARRAY_INDEX of AWS_BATCH_JOB_ARRAY_SIZE
 */
import { ConfigError } from '../core/errors.ts';

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
  /** Where it came from (the flag or the environment variables), for messages. */
  readonly source: string;
}

/** The largest shard count accepted (a guard against a typo like 1/1000000000). */
export const MAX_SHARDS = 100_000;

/**
 * The runs of each shard (indices into the study's runs, each list ascending): greedy longest
 * first by steps, ties by index; each run to the least-loaded shard, ties to the lowest shard.
 */
export function planShards(steps: readonly number[], count: number): number[][] {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError('planShards', `the shard count must be a positive integer, got ${count}`);
  const order = steps.map((s, k) => ({ s, k })).sort((a, b) => b.s - a.s || a.k - b.k);
  const load = new Array<number>(count).fill(0);
  const out: number[][] = Array.from({ length: count }, () => []);
  for (const { s, k } of order) {
    let best = 0;
    for (let j = 1; j < count; j++) if (load[j]! < load[best]!) best = j;
    load[best]! += s;
    out[best]!.push(k);
  }
  for (const l of out) l.sort((a, b) => a - b);
  return out;
}

const INT_RE = /^(0|[1-9][0-9]*)$/;

function intOf(text: string): number | null {
  const t = text.trim();
  if (!INT_RE.test(t)) return null;
  const v = Number(t);
  return Number.isSafeInteger(v) ? v : null;
}

function checkCount(op: string, what: string, count: number | null, raw: string): number {
  if (count === null || count < 1 || count > MAX_SHARDS) throw new ConfigError(op, `${what} must be an integer in [1, ${MAX_SHARDS}], got '${raw}'`);
  return count;
}

/** `--shard I/N`: shard I (0-based) of N. */
export function parseShard(op: string, text: string): Shard {
  const m = /^([^/]*)\/([^/]*)$/.exec(text);
  if (!m) throw new ConfigError(op, `--shard must be I/N (shard I of N, I from 0 to N-1), got '${text}'`);
  const count = checkCount(op, '--shard\'s N', intOf(m[2]!), m[2]!);
  const index = intOf(m[1]!);
  if (index === null || index >= count) throw new ConfigError(op, `--shard I/N needs I an integer from 0 to N-1 = ${count - 1}, got '${m[1]}'`);
  return { index, count, source: `--shard ${index}/${count}` };
}

/** `--shard-count N` (with Kubernetes' JOB_COMPLETION_INDEX). */
export function parseShardCount(op: string, text: string): number {
  return checkCount(op, '--shard-count', intOf(text), text);
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The shard given by a job array's environment, or null when none is set. `shardCount` is
 * --shard-count (needed with JOB_COMPLETION_INDEX, which does not say how many there are).
 * Invalid values are ConfigErrors naming the variable and its value.
 */
export function shardFromEnv(op: string, env: Env, shardCount?: number): Shard | null {
  const has = (k: string) => env[k] !== undefined && env[k] !== '';
  const need = (k: string, why: string) => {
    if (!has(k)) throw new ConfigError(op, `${why} is set but ${k} is not (needed to know the shard count)`);
    return env[k]!;
  };
  const idx = (k: string, v: string) => {
    const i = intOf(v);
    if (i === null) throw new ConfigError(op, `${k}='${v}' must be a non-negative integer`);
    return i;
  };
  const finish = (index: number, count: number, source: string): Shard => {
    if (shardCount !== undefined && shardCount !== count) {
      throw new ConfigError(op, `--shard-count ${shardCount} disagrees with ${source}, which says ${count} shards`);
    }
    if (index >= count) throw new ConfigError(op, `${source} gives shard ${index}, outside 0..${count - 1}`);
    return { index, count, source };
  };
  if (has('SLURM_ARRAY_TASK_ID')) {
    const id = idx('SLURM_ARRAY_TASK_ID', env.SLURM_ARRAY_TASK_ID!);
    const rawCount = need('SLURM_ARRAY_TASK_COUNT', `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}`);
    const count = checkCount(op, 'SLURM_ARRAY_TASK_COUNT', intOf(rawCount), rawCount);
    const min = has('SLURM_ARRAY_TASK_MIN') ? idx('SLURM_ARRAY_TASK_MIN', env.SLURM_ARRAY_TASK_MIN!) : 0;
    if (id < min) throw new ConfigError(op, `SLURM_ARRAY_TASK_ID='${env.SLURM_ARRAY_TASK_ID}' is below SLURM_ARRAY_TASK_MIN='${env.SLURM_ARRAY_TASK_MIN}'`);
    const src = `SLURM_ARRAY_TASK_ID=${id}${min ? ` (minus SLURM_ARRAY_TASK_MIN=${min})` : ''} of SLURM_ARRAY_TASK_COUNT=${count}`;
    return finish(id - min, count, src);
  }
  if (has('JOB_COMPLETION_INDEX')) {
    const i = idx('JOB_COMPLETION_INDEX', env.JOB_COMPLETION_INDEX!);
    if (shardCount === undefined) throw new ConfigError(op, `JOB_COMPLETION_INDEX='${env.JOB_COMPLETION_INDEX}' is set: pass --shard-count N (the Indexed Job's completions)`);
    return finish(i, shardCount, `JOB_COMPLETION_INDEX=${i} of --shard-count ${shardCount}`);
  }
  if (has('AWS_BATCH_JOB_ARRAY_INDEX')) {
    const i = idx('AWS_BATCH_JOB_ARRAY_INDEX', env.AWS_BATCH_JOB_ARRAY_INDEX!);
    const raw = need('AWS_BATCH_JOB_ARRAY_SIZE', `AWS_BATCH_JOB_ARRAY_INDEX=${env.AWS_BATCH_JOB_ARRAY_INDEX}`);
    const count = checkCount(op, 'AWS_BATCH_JOB_ARRAY_SIZE', intOf(raw), raw);
    return finish(i, count, `AWS_BATCH_JOB_ARRAY_INDEX=${i} of AWS_BATCH_JOB_ARRAY_SIZE=${count}`);
  }
  if (shardCount !== undefined) throw new ConfigError(op, '--shard-count N needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or --shard I/N');
  return null;
}

/** --shard, else the environment, else null (the whole study). */
export function resolveShard(op: string, flag: string | undefined, shardCount: string | undefined, env: Env): Shard | null {
  const count = shardCount === undefined ? undefined : parseShardCount(op, shardCount);
  if (flag !== undefined) {
    const s = parseShard(op, flag);
    if (count !== undefined && count !== s.count) throw new ConfigError(op, `--shard-count ${count} disagrees with --shard ${flag}`);
    return s;
  }
  return shardFromEnv(op, env, count);
}
