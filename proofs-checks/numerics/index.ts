/** The NUMERICS claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';

export const NUMERICS_CLAIMS: readonly Claim[] = [];
