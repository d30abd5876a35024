/** The claims catalogue: every claim of the two papers (and the numerics they rely on). */
import type { Claim } from '../src/claims/types.ts';
import { CHO_CLAIMS } from './cho/index.ts';
import { ISOGCLR_CLAIMS } from './isogclr/index.ts';
import { NUMERICS_CLAIMS } from './numerics/index.ts';
import { SIGLIP_CLAIMS } from './siglip/index.ts';
import { SOG_CLAIMS } from './sog/index.ts';

export const CLAIMS: readonly Claim[] = [...NUMERICS_CLAIMS, ...CHO_CLAIMS, ...SOG_CLAIMS, ...ISOGCLR_CLAIMS, ...SIGLIP_CLAIMS];
