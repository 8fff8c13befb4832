// The ES module face of process-info.cjs: CommonJS so that job/dormant.cjs, which every Node.js child of a job loads when
// it joins, can require() it for next to nothing (an ES module there would start the ES module loader; docs/architecture.md).
// Loaded here with require() too: an ES module import of CommonJS makes Node.js scan its source for the names it
// exports (cjs-module-lexer), about 30 ms of CPU for the agent's faces in a job's root (docs/performance-jobs.md).
import { createRequire } from 'node:module';
import type * as Cjs from './process-info.cjs';

const cjs = createRequire(import.meta.url)('./process-info.cjs') as typeof Cjs;
export const { nodeProcessInfo } = cjs;
export type { ProcessInfo } from './process-info.cjs';
