import { describe, expect, it } from 'vitest';
import { DomainError, ShapeError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/random.ts';
import { evalViews } from '../../src/data/dataset.ts';
import { assembleMnist, checkDigitFile, loadMnist, MNIST_COUNT, mnistDataset, mnistLoaded } from '../../src/data/mnist.ts';
import { validateStudy } from '../../src/experiments/spec.ts';

const tiny = {
  name: 'mnist', data: { kind: 'mnist', train: 256, test: 128 }, model: { kind: 'mlp', hidden: 32, d: 8 }, objective: { tau: 0.5 },
  sampler: { kind: 'reshuffle', B: 64 }, estimator: { kind: 'simclr', tau: 0.5 }, optimizer: { kind: 'adamw', lr: 0.001 }, budget: { epochs: 1 }, seeds: [0],
};

describe('mnist data', () => {
  // First in the file: nothing before it has read the digits.
  it('is not read by importing the library or validating a spec that uses it', async () => {
    await import('../../src/index.ts');
    validateStudy(tiny);
    expect(mnistLoaded()).toBe(false);
  });

  it('ships 10,000 digits of 784 pixels in [0, 1] with labels 0..9 (about 1,000 each)', () => {
    const { X, y } = loadMnist();
    expect(mnistLoaded()).toBe(true);
    expect(y.length).toBe(MNIST_COUNT);
    expect(X.length).toBe(MNIST_COUNT * 784);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of X) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect([lo, hi]).toEqual([0, 1]);
    const counts = new Array(10).fill(0);
    for (const c of y) counts[c]++;
    expect(counts.reduce((a, b) => a + b)).toBe(MNIST_COUNT);
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('splits by the data seed: disjoint, the stated sizes, the same for every run generator', () => {
    const a = mnistDataset({ train: 700, test: 300 }, Rng.fromSeed(1));
    const b = mnistDataset({ train: 700, test: 300 }, Rng.fromSeed(2));
    const c = mnistDataset({ train: 700, test: 300, seed: 5 }, Rng.fromSeed(1));
    expect([a.n, a.p, a.classes, a.X.rows, a.X.cols, a.Xtest.rows, a.y.length, a.ytest.length]).toEqual([700, 784, 10, 700, 784, 300, 700, 300]);
    const seen = new Set([...a.trainIndex, ...a.testIndex]);
    expect(seen.size).toBe(1000);
    expect(Array.from(b.trainIndex)).toEqual(Array.from(a.trainIndex));
    expect(Array.from(b.X.data)).toEqual(Array.from(a.X.data));
    expect(Array.from(c.trainIndex)).not.toEqual(Array.from(a.trainIndex));
    // rows and labels are those of the source digits
    const { X, y } = loadMnist();
    for (const i of [0, 17, 699]) {
      const s = a.trainIndex[i]!;
      expect(a.y[i]).toBe(y[s]);
      expect(Array.from(a.X.data.subarray(i * 784, (i + 1) * 784))).toEqual(Array.from(X.subarray(s * 784, (s + 1) * 784)));
    }
    // the split is Rng.fromSeed(seed).permutation(10000), training rows first
    const perm = Rng.fromSeed(0).permutation(MNIST_COUNT);
    expect(Array.from(a.trainIndex)).toEqual(Array.from(perm.subarray(0, 700)));
    expect(Array.from(a.testIndex)).toEqual(Array.from(perm.subarray(700, 1000)));
    // the run's generator gives the fixed evaluation views (image augmentation by default)
    expect(Array.from(evalViews(a).X1.data)).not.toEqual(Array.from(evalViews(b).X1.data));
    expect(a.augment).toMatchObject({ kind: 'image', height: 28, width: 28 });
  });

  it('refuses counts out of range and bad files, naming the value', () => {
    expect(() => mnistDataset({ train: 9000, test: 1001 }, Rng.fromSeed(0))).toThrow(/train \+ test = 9000 \+ 1001 = 10001 exceeds the 10000/);
    expect(() => mnistDataset({ train: 0, test: 10 }, Rng.fromSeed(0))).toThrow(/train must be an integer >= 1, got 0/);
    expect(() => mnistDataset({ train: 10, test: 2.5 }, Rng.fromSeed(0))).toThrow(DomainError);
    const good = new Array(784 * 2).fill(0.5);
    expect(() => checkDigitFile(3, { data: good })).not.toThrow();
    const hot = good.slice();
    hot[784 + 5] = 1.5;
    expect(() => checkDigitFile(3, { data: hot })).toThrow(/3\.json: pixel 5 of digit image 1 is 1\.5/);
    const str = good.slice();
    str[0] = '0.1';
    expect(() => checkDigitFile(3, { data: str })).toThrow(DomainError);
    const nan = good.slice();
    nan[9] = NaN;
    expect(() => checkDigitFile(3, { data: nan })).toThrow(DomainError);
    expect(() => checkDigitFile(3, { data: good.slice(1) })).toThrow(ShapeError);
    expect(() => checkDigitFile(3, { pixels: good })).toThrow(/no 'data' array/);
    expect(() => assembleMnist(Array.from({ length: 10 }, () => good))).toThrow(/hold 20 images/);
  });

  it('spec validation: counts, free models refused, image augmentation checked against 28 x 28', () => {
    const w = (data: object, model: object = tiny.model) => () => validateStudy({ ...tiny, data, model });
    expect(w({ kind: 'mnist', train: 9000, test: 1500 })).toThrow(/experiment\.data train \+ test = 9000 \+ 1500 = 10500 exceeds/);
    expect(w({ kind: 'mnist', train: 256, test: 0 })).toThrow(/data\.test must be >= 1, got 0/);
    expect(w({ kind: 'mnist', train: 256 })).toThrow(/test/);
    expect(w({ kind: 'mnist', train: 256, test: 128 }, { kind: 'free' })).toThrow(/'free' needs data 'random-sphere' or 'rectangle'.*data 'mnist' needs 'linear' or 'mlp'/);
    const aug = { kind: 'image', height: 28, width: 28, crop: { minScale: 0.5 }, translate: 2, erase: null, noise: 0.1 };
    expect(w({ kind: 'mnist', train: 256, test: 128, augment: aug })).not.toThrow();
    expect(w({ kind: 'mnist', train: 256, test: 128, augment: { ...aug, width: 27 } })).toThrow(/28 x 27 image \(756 pixels\) but the inputs have p = 784/);
    expect(w({ kind: 'mnist', train: 256, test: 128, augment: { ...aug, crop: { minScale: 1.5 } } })).toThrow(/crop\.minScale must be <= 1, got 1\.5/);
    expect(w({ kind: 'mnist', train: 256, test: 128, augment: { noise: 0.1, mask: 0.1 } })).not.toThrow();
    expect(mnistLoaded()).toBe(true); // (read by the tests above, not by validation)
  });
});
