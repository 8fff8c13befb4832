// What the bridge answers to `initialize`, before it knows which agent it will reach: the capabilities both
// agents share. Once attached, the agent's own capabilities (exception filters included) follow in a DAP
// `capabilities` event, so editors learn the rest before the agent's `initialized` event.

export const BRIDGE_CAPABILITIES = {
  supportsConfigurationDoneRequest: true,
  supportsConditionalBreakpoints: true,
  supportsHitConditionalBreakpoints: true,
  supportsLogPoints: true,
  supportsEvaluateForHovers: true,
  supportsSetVariable: true,
  supportsExceptionInfoRequest: true,
  supportsTerminateRequest: true,
  supportTerminateDebuggee: true,
  supportsLoadedSourcesRequest: true,
  supportsCompletionsRequest: true,
  supportsDelayedStackTraceLoading: true,
} as const;
