/**
 * The shipped studies (`contrastlab run --preset NAME`, listed by `contrastlab run --list`), written
 * in the compact study language (studyLanguage.ts): print one with
 * `contrastlab run --preset NAME --print-spec` (compact) or `--expand` (every arm listed).
 */
import { CHO_PRESETS } from './cho.ts';
import { MNIST_PRESETS } from './mnist.ts';
import { SOGCLR_PRESETS } from './sogclr.ts';
import { TWO_PAPERS_PRESET } from './twoPapers.ts';
import type { PresetInfo } from './types.ts';

export type { PresetInfo } from './types.ts';
export { ANNEALED_SIZES } from './sogclr.ts';
export { APPROX_OSGD, TWO_PAPERS_SIZES } from './twoPapers.ts';
export { MNIST_BATCH_SELECTION_SIZES, MNIST_BATCH_SIZE_SIZES } from './mnist.ts';

export const PRESETS: readonly PresetInfo[] = [...CHO_PRESETS, ...SOGCLR_PRESETS, TWO_PAPERS_PRESET, ...MNIST_PRESETS];

export function findPreset(name: string): PresetInfo | undefined {
  return PRESETS.find((p) => p.name === name);
}
