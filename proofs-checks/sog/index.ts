/** The SOG claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as pluginBiased } from './plugin-biased.ts';
import { claim as pluginBiasRate } from './plugin-bias-rate.ts';
import { claim as sogclrUnbiased } from './sogclr-unbiased.ts';
import { claim as ntxentIdentity } from './ntxent-identity.ts';
import { claim as gammaOne } from './gamma-one.ts';
import { claim as movingAverage } from './moving-average.ts';
import { claim as smallBatch } from './small-batch.ts';
import { claim as annealedBeatsDcl } from './annealed-beats-dcl.ts';
import { claim as sumStorage } from './sum-storage.ts';

export const SOG_CLAIMS: readonly Claim[] = [pluginBiased, pluginBiasRate, sogclrUnbiased, ntxentIdentity, gammaOne, movingAverage, smallBatch, annealedBeatsDcl, sumStorage];
