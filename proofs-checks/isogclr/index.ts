/** The ISOGCLR claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as droDuality } from './dro-duality.ts';
import { claim as tauDerivative } from './tau-derivative.ts';

export const ISOGCLR_CLAIMS: readonly Claim[] = [droDuality, tauDerivative];
