/** The SigLIP claims (sigmoid loss, and the similarity bound of the same group), in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as similarityGapBound } from './similarity-gap-bound.ts';

export const SIGLIP_CLAIMS: readonly Claim[] = [similarityGapBound];
