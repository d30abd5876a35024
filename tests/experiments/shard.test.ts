/** Shards: the plan (deterministic, balanced by steps) and where the shard comes from (flag, job array environments). */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { parseShard, planShards, resolveShard, shardFromEnv } from '../../src/experiments/shard.ts';

describe('planShards: longest first, each to the least-loaded shard, ties by index and by shard', () => {
  it('covers every run exactly once, each shard in index order', () => {
    const steps = [5, 1, 9, 9, 2, 7, 3, 3, 8, 1];
    for (const n of [1, 2, 3, 4, 10, 12]) {
      const plan = planShards(steps, n);
      expect(plan).toHaveLength(n);
      expect(plan.flat().sort((a, b) => a - b)).toEqual(steps.map((_, k) => k));
      for (const s of plan) expect([...s].sort((a, b) => a - b)).toEqual(s);
    }
  });

  it('the rule, worked by hand', () => {
    // Order: 2 (9), 3 (9), 8 (8), 5 (7), 0 (5), 6 (3), 7 (3), 4 (2), 1 (1), 9 (1).
    // Loads after each: [9,0,0] [9,9,0] [9,9,8] [9,9,15] [14,9,15] [14,12,15] [14,15,15] [16,15,15] [16,16,15] [16,16,16].
    expect(planShards([5, 1, 9, 9, 2, 7, 3, 3, 8, 1], 3)).toEqual([[0, 2, 4], [1, 3, 6, 7], [5, 8, 9]]);
  });

  it('equal runs go round-robin in index order; more shards than runs leaves some empty', () => {
    expect(planShards([4, 4, 4, 4, 4], 2)).toEqual([[0, 2, 4], [1, 3]]);
    expect(planShards([1, 2], 4)).toEqual([[1], [0], [], []]);
  });

  it('balances: no shard exceeds the mean by more than the longest run', () => {
    const steps = Array.from({ length: 720 }, (_, k) => [40, 80, 160, 320][k % 4]! * (1 + (k % 7)));
    for (const n of [2, 3, 8]) {
      const loads = planShards(steps, n).map((s) => s.reduce((a, k) => a + steps[k]!, 0));
      const mean = steps.reduce((a, b) => a + b, 0) / n;
      expect(Math.max(...loads) - mean).toBeLessThanOrEqual(Math.max(...steps));
    }
  });
});

describe('--shard and the job array environments', () => {
  const op = 'contrastlab run';
  it('--shard I/N is 0-based; bad values are one-line ConfigErrors', () => {
    expect(parseShard(op, '2/3')).toMatchObject({ index: 2, count: 3 });
    expect(() => parseShard(op, '3/3')).toThrow(/I an integer from 0 to N-1 = 2, got '3'/);
    expect(() => parseShard(op, '1')).toThrow(/--shard must be I\/N/);
    expect(() => parseShard(op, '0/0')).toThrow(/--shard's N must be an integer in \[1, 100000\], got '0'/);
    expect(() => parseShard(op, '-1/3')).toThrow(ConfigError);
    expect(() => parseShard(op, '1.5/3')).toThrow(ConfigError);
  });

  it('Slurm: SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT', () => {
    expect(shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({ index: 2, count: 4 });
    expect(shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_COUNT: '3' })).toMatchObject({ index: 2, count: 3 });
    expect(() => shardFromEnv(op, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/SLURM_ARRAY_TASK_ID='x' must be a non-negative integer/);
    expect(() => shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_COUNT is not/);
    expect(() => shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: 'many' })).toThrow(/SLURM_ARRAY_TASK_COUNT must be an integer in \[1, 100000\], got 'many'/);
    expect(() => shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/gives shard 3, outside 0\.\.2/);
    expect(() => shardFromEnv(op, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/below SLURM_ARRAY_TASK_MIN='2'/);
  });

  it('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX with --shard-count', () => {
    expect(resolveShard(op, undefined, '4', { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 3, count: 4 });
    expect(() => resolveShard(op, undefined, undefined, { JOB_COMPLETION_INDEX: '3' })).toThrow(/JOB_COMPLETION_INDEX='3' is set: pass --shard-count N/);
    expect(() => resolveShard(op, undefined, '2', { JOB_COMPLETION_INDEX: '3' })).toThrow(/gives shard 3, outside 0\.\.1/);
    expect(() => resolveShard(op, undefined, '2', {})).toThrow(/--shard-count N needs JOB_COMPLETION_INDEX/);
    expect(() => resolveShard(op, undefined, 'x', { JOB_COMPLETION_INDEX: '0' })).toThrow(/--shard-count must be an integer in \[1, 100000\], got 'x'/);
  });

  it('AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX of AWS_BATCH_JOB_ARRAY_SIZE', () => {
    expect(shardFromEnv(op, { AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '2' })).toMatchObject({ index: 0, count: 2 });
    expect(() => shardFromEnv(op, { AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '0' })).toThrow(/AWS_BATCH_JOB_ARRAY_SIZE must be an integer in \[1, 100000\], got '0'/);
    expect(() => shardFromEnv(op, { AWS_BATCH_JOB_ARRAY_INDEX: '-1', AWS_BATCH_JOB_ARRAY_SIZE: '2' })).toThrow(/AWS_BATCH_JOB_ARRAY_INDEX='-1'/);
  });

  it('--shard wins over the environment; nothing set: the whole study', () => {
    expect(resolveShard(op, '0/2', undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' })).toMatchObject({ index: 0, count: 2 });
    expect(resolveShard(op, undefined, undefined, {})).toBeNull();
    expect(() => resolveShard(op, '0/2', '3', {})).toThrow(/--shard-count 3 disagrees with --shard 0\/2/);
  });
});
