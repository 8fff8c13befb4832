// The ES module face of errors.cjs: CommonJS so that job/dormant.cjs, which every Node.js child of a job loads when
// it joins, can require() it for next to nothing (an ES module there would start the ES module loader; docs/architecture.md).
export { ERROR_IDS, LongreachError, fromErrorResponse, isErrorCode, toErrorBody, type ErrorCode, type ErrorResponseBody } from './errors.cjs';
