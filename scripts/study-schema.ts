/**
 * Writes schema/study.schema.json from src/experiments/studySchema.ts (run after changing the spec
 * types; tests/experiments/schema.test.ts checks that the file is up to date):
 *   node --import tsx scripts/study-schema.ts
 */
import { writeFileSync } from 'node:fs';
import { studySchema } from '../src/experiments/studySchema.ts';

const file = new URL('../schema/study.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(studySchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
