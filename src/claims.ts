/** contrastlab/claims: the claims catalogue (proofs-checks/), its runner and its report. */
export { runClaims, isFailure, type ClaimResult, type RunClaimsOptions } from './claims/run.ts';
export { verdictTable, verdictWord, reportMarkdown, reportJson } from './claims/report.ts';
export type { Claim, ClaimContext, ClaimSize, ClaimKind, ClaimSource, Verdict, ClaimFigure } from './claims/types.ts';
export { CLAIMS } from '../proofs-checks/index.ts';
