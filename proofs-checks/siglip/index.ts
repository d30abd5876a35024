/** The SigLIP claims (sigmoid loss, and the similarity bound of the same group), in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as allBatchesReweight } from './all-batches-reweight.ts';
import { claim as doubleConstantOptimal } from './double-constant-optimal.ts';
import { claim as similarityGapBound } from './similarity-gap-bound.ts';
import { claim as zeroIffSeparated } from './zero-iff-separated.ts';

export const SIGLIP_CLAIMS: readonly Claim[] = [doubleConstantOptimal, zeroIffSeparated, allBatchesReweight, similarityGapBound];
