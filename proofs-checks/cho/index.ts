/** The CHO claims, in catalogue order. Each file exports `claim`. */
import type { Claim } from '../../src/claims/types.ts';
import { claim as balancedDesign } from './balanced-design.ts';
import { claim as closedForms } from './closed-forms.ts';
import { claim as etfOptimal } from './etf-optimal.ts';
import { claim as lowDimension } from './low-dimension.ts';
import { claim as osgdFaster } from './osgd-faster.ts';
import { claim as osgdTrap } from './osgd-trap.ts';
import { claim as osgdRectangleChoStep } from './osgd-rectangle-cho-step.ts';
import { claim as prop1 } from './prop1-minibatch-differs.ts';
import { claim as spectralBatches } from './spectral-batches.ts';
import { claim as spectralLowerBound } from './spectral-lower-bound.ts';
import { claim as thm4 } from './thm4-all-batches.ts';
import { claim as thm5 } from './thm5-partition.ts';

export const CHO_CLAIMS: readonly Claim[] = [etfOptimal, closedForms, prop1, thm4, thm5, balancedDesign, lowDimension, spectralLowerBound, spectralBatches, osgdFaster, osgdRectangleChoStep, osgdTrap];
