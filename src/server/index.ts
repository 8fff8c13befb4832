export { startServer, type DebugServer, type ServerOptions } from './server.js';
export type { DebugSessionHandler, SessionContext, SessionFactory } from './gate.js';
export { nodeProcessInfo, type ProcessInfo } from './process-info.js';
export { Throttle } from './throttle.js';
