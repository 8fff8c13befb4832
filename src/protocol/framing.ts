// The ES module face of framing.cjs: CommonJS so that job/dormant.cjs, which every Node.js child of a job loads when
// it joins, can require() it for next to nothing (an ES module there would start the ES module loader; docs/architecture.md).
export { DEFAULT_BODY_LIMIT, FrameDecoder, HEADER_LIMIT, PRE_AUTH_BODY_LIMIT, encodeFrame, type DapMessage, type OutgoingMessage } from './framing.cjs';
