// The client library: everything the CLI, the editor bridge and any other front end build on.
export { connect, type ClientSession, type ConnectOptions, type ServerHello } from './connect.js';
export { DapSession, DEFAULT_TIMEOUT_MS } from './session.js';
export { readStacks, type StacksResult, type ThreadStacks, type StackFrameRow } from './stacks.js';
export { listProcesses, type ListOptions, type ListRow } from './list.js';
export { LongreachError, type ErrorCode } from '../protocol/errors.js';
export { parseQualifier, formatQualifier, maskSecrets, type Qualifier } from '../protocol/qualifier.js';
