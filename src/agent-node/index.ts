// longreach: the Node.js agent. `import { enableAttach, waitForAttach } from 'longreach'`.
export { enableAttach, waitForAttach, waitForAttachAsync, breakIntoDebugger, isAttached, type EnableAttachOptions, type BoundAddress } from './api.js';
export { LongreachError, type ErrorCode } from '../protocol/errors.js';
