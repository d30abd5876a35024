/** The SOG claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';

export const SOG_CLAIMS: readonly Claim[] = [];
