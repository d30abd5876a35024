/** The CHO claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';

export const CHO_CLAIMS: readonly Claim[] = [];
