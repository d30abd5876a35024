/** The NUMERICS claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as blockedEqualsMaterialised } from './blocked-equals-materialised.ts';
import { claim as f32Rule } from './f32-rule.ts';
import { claim as gradients } from './gradients.ts';
import { claim as maxShift } from './max-shift.ts';
import { claim as shardedGatherWithGrad } from './sharded-gather-with-grad.ts';

export const NUMERICS_CLAIMS: readonly Claim[] = [gradients, blockedEqualsMaterialised, f32Rule, maxShift, shardedGatherWithGrad];
