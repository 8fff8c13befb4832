import { AGENT_CAPABILITIES } from '../protocol/capabilities.js';

// What the bridge answers to `initialize`, before it knows which agent it will reach: the capabilities both
// agents share. Once attached, the agent's own capabilities (exception filters included) follow in a DAP
// `capabilities` event, so editors learn the rest before the agent's `initialized` event.

export const BRIDGE_CAPABILITIES = { ...AGENT_CAPABILITIES, supportTerminateDebuggee: true } as const;
