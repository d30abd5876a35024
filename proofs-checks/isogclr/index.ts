/** The ISOGCLR claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';

export const ISOGCLR_CLAIMS: readonly Claim[] = [];
