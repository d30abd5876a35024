/**
 * From a spec's data to the Dataset an encoder embeds (src/data/dataset.ts), and the shape a
 * validation needs before anything is built. MNIST is read only when a run builds it (its shape
 * is the spec's counts); an npy file's shape is read from the file (once per process).
 */
import type { Dataset } from '../data/dataset.ts';
import { MNIST_PIXELS, mnistDataset } from '../data/mnist.ts';
import { npyDataset, npyDataShape } from '../data/npyData.ts';
import { syntheticDataset } from '../data/synthetic.ts';
import type { Rng } from '../core/random.ts';
import { type DataSpec, INPUT_DATA_KINDS } from './types.ts';

export type InputDataSpec = Extract<DataSpec, { kind: (typeof INPUT_DATA_KINDS)[number] }>;

export function isInputData(d: DataSpec): d is InputDataSpec {
  return (INPUT_DATA_KINDS as readonly string[]).includes(d.kind);
}

/** Training rows N, input dimension p, held-out rows and whether there are labels. */
export function inputDataShape(d: InputDataSpec): { n: number; p: number; nTest: number; labelled: boolean } {
  switch (d.kind) {
    case 'synthetic-classes':
      return { n: d.n, p: d.p, nTest: d.nTest, labelled: true };
    case 'mnist':
      return { n: d.train, p: MNIST_PIXELS, nTest: d.test, labelled: true };
    case 'npy': {
      const { rows, p } = npyDataShape(d);
      const nTest = d.test ?? 0;
      return { n: rows - nTest, p, nTest, labelled: d.labels !== undefined };
    }
  }
}

/** The data set, its generator-dependent parts drawn from `rng` (the run's data stream). */
export function buildDataset(d: InputDataSpec, rng: Rng): Dataset {
  switch (d.kind) {
    case 'synthetic-classes':
      return syntheticDataset(d, rng);
    case 'mnist':
      return mnistDataset(d, rng);
    case 'npy':
      return npyDataset(d, rng);
  }
}
