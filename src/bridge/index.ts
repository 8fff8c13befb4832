// The editor bridge (`longreach dap`): a DAP adapter that makes any DAP editor a Longreach client.
export { Bridge, bridgeStreams, type BridgeOptions, type EditorMessage } from './adapter.js';
export { planAttach, BRIDGE_ONLY_ARGS, type AttachPlan } from './attach-args.js';
export { BRIDGE_CAPABILITIES } from './capabilities.js';
export { serveStdio, listenTcp, type TcpBridge } from './server.js';
export * from './editor.js';
export { listProcesses } from '../client/list.js';
export { parseQualifier } from '../protocol/qualifier.js';
