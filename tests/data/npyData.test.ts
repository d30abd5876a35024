import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DomainError, ShapeError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/random.ts';
import { npyDataset } from '../../src/data/npyData.ts';
import { validateStudy } from '../../src/experiments/spec.ts';
import { defaultMetrics, train } from '../../src/experiments/train.ts';
import type { ExperimentSpec } from '../../src/experiments/types.ts';
import { serializeNpy } from '../../src/io/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'contrastlab-npydata-'));
const N = 40;
const P = 6;
const X = new Float64Array(N * P);
for (let i = 0; i < N; i++) for (let j = 0; j < P; j++) X[i * P + j] = i + j / 10; // row i starts with the value i
const xPath = join(dir, 'X.npy');
writeFileSync(xPath, serializeNpy(X, [N, P]));
const yPath = join(dir, 'y.npy');


/** .npy bytes of int32 labels (header written by hand: serializeNpy writes floats only). */
function labels(y: Int32Array, shape = `(${y.length},)`): Uint8Array {
  let header = `{'descr': '<i4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) head[10 + i] = header.charCodeAt(i);
  const out = new Uint8Array(head.length + y.byteLength);
  out.set(head);
  out.set(new Uint8Array(y.buffer, y.byteOffset, y.byteLength), head.length);
  return out;
}
writeFileSync(yPath, labels(Int32Array.from({ length: N }, (_, i) => i % 3)));

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const arm = (data: object, extra: object = {}): ExperimentSpec => ({
  name: 'npy', data: data as ExperimentSpec['data'], model: { kind: 'linear', d: 4 }, objective: { tau: 0.5 }, sampler: { kind: 'reshuffle', B: 8 },
  estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.5, gamma: 0.9 }, optimizer: { kind: 'sgd', lr: 0.1 }, budget: { epochs: 1 }, seeds: [0], ...extra,
});

describe("data 'npy'", () => {
  it('holds out `test` rows chosen by Rng.fromSeed(seed), both parts in file order, labels following their rows', () => {
    const d = npyDataset({ x: xPath, labels: yPath, test: 10, seed: 3 }, Rng.fromSeed(0));
    expect([d.n, d.p, d.classes, d.X.rows, d.Xtest.rows]).toEqual([30, 6, 3, 30, 10]);
    const first = (M: typeof d.X) => Array.from({ length: M.rows }, (_, i) => M.data[i * P]!);
    const tr = first(d.X);
    const te = first(d.Xtest);
    const held = Array.from(Rng.fromSeed(3).permutation(N).subarray(0, 10)).sort((a, b) => a - b);
    expect(te).toEqual(held);
    expect(tr).toEqual(Array.from({ length: N }, (_, i) => i).filter((i) => !held.includes(i)));
    expect(Array.from(d.y!)).toEqual(tr.map((i) => i % 3));
    expect(Array.from(d.ytest!)).toEqual(te.map((i) => i % 3));
    const all = npyDataset({ x: xPath }, Rng.fromSeed(0));
    expect([all.n, all.Xtest.rows, all.y, all.classes]).toEqual([N, 0, null, 0]);
    expect(Array.from(all.X.data)).toEqual(Array.from(X));
  });

  it('refuses bad labels and splits, naming the file and the value', () => {
    expect(() => npyDataset({ x: xPath, labels: xPath }, Rng.fromSeed(0))).toThrow(ConfigError);
    const neg = Int32Array.from({ length: N }, () => 1);
    neg[7] = -1;
    expect(() => npyDataset({ x: xPath, labels: file('neg.npy', labels(neg)) }, Rng.fromSeed(0))).toThrow(/label -1 at index 7 is negative/);
    expect(() => npyDataset({ x: xPath, labels: file('short.npy', labels(new Int32Array(N - 1))) }, Rng.fromSeed(0))).toThrow(/has 39 labels but x has N = 40 rows/);
    expect(() => npyDataset({ x: xPath, labels: file('flat.npy', labels(new Int32Array(N), `(4, 10)`)) }, Rng.fromSeed(0))).toThrow(ShapeError);
    expect(() => npyDataset({ x: xPath, test: 39 }, Rng.fromSeed(0))).toThrow(/leaves 1 training row/);
    expect(() => npyDataset({ x: file('v.npy', serializeNpy(X, [N * P])) }, Rng.fromSeed(0))).toThrow(/2-D array/);
    const bad = X.slice();
    bad[5] = NaN;
    expect(() => npyDataset({ x: file('nan.npy', serializeNpy(bad, [N, P])) }, Rng.fromSeed(0))).toThrow(/NaN|finite/);
    expect(() => npyDataset({ x: join(dir, 'missing.npy') }, Rng.fromSeed(0))).toThrow(ConfigError);
    expect(() => npyDataset({ x: xPath, test: -1 }, Rng.fromSeed(0))).toThrow(DomainError);
  });

  it('without labels, k-NN and the probe are refused by validation and left out of the defaults; R@1 is logged', () => {
    expect(() => validateStudy(arm({ kind: 'npy', x: xPath, test: 10 }, { metrics: ['objective', 'knn'] }))).toThrow(/'knn' needs labels/);
    expect(() => validateStudy(arm({ kind: 'npy', x: xPath }, { metrics: ['retrieval'] }))).toThrow(/holds out none: set data\.test/);
    expect(() => validateStudy(arm({ kind: 'npy', x: xPath, test: 10 }, { model: { kind: 'free' } }))).toThrow(/data 'npy' needs 'linear' or 'mlp'/);
    expect(() => validateStudy(arm({ kind: 'npy', x: xPath, test: 10 }, { sampler: { kind: 'reshuffle', B: 31 } }))).toThrow(/B = 31 exceeds the data's N = 30/);
    const spec = arm({ kind: 'npy', x: xPath, test: 10 });
    validateStudy(spec);
    expect(defaultMetrics(spec)).toEqual(['objective', 'objectiveGradNorm', 'batchValue', 'retrieval']);
    const r = train(spec, 0);
    expect(Object.keys(r.final).sort()).toEqual(['batchValue', 'epoch', 'objective', 'objectiveGradNorm', 'retrieval', 'step']);
    const labelled = arm({ kind: 'npy', x: xPath, labels: yPath, test: 10 });
    validateStudy(labelled);
    const r2 = train(labelled, 0);
    expect(r2.final.knn).toBeGreaterThanOrEqual(0);
    expect(r2.final.probe).toBeGreaterThanOrEqual(0);
  });
});
