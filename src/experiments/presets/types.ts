import type { CompactStudy } from '../studyLanguage.ts';

export interface PresetInfo {
  readonly name: string;
  readonly description: string;
  /** The study written compactly (plain JSON; expand it with expandStudy); `smoke` shrinks seeds and budget for CI and quick looks. */
  spec(size: 'full' | 'smoke'): CompactStudy;
}
