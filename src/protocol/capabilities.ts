// The DAP capabilities every Longreach agent offers (docs/protocol.md section 8: everything else is standard
// DAP). Agents add their own exception filters; the editor bridge answers `initialize` with this set before
// it knows which agent it will reach.

export const AGENT_CAPABILITIES = {
  supportsConfigurationDoneRequest: true,
  supportsConditionalBreakpoints: true,
  supportsHitConditionalBreakpoints: true,
  supportsLogPoints: true,
  supportsEvaluateForHovers: true,
  supportsSetVariable: true,
  supportsExceptionInfoRequest: true,
  supportsTerminateRequest: true,
  supportsLoadedSourcesRequest: true,
  supportsCompletionsRequest: true,
  supportsDelayedStackTraceLoading: true,
} as const;
