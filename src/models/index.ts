/** Models: free embeddings and shared encoders, as pure functions over explicit parameters (see ./types.ts). */
export type { Model, ModelOutput, RowGradients } from './types.ts';
export { freeEmbeddings, type FreeEmbeddingOptions, type FreeParametrisation } from './free.ts';
export { linearEncoder, mlpEncoder, NORMALIZE_EPS, type EncoderOptions, type EvalViews } from './encoder.ts';
