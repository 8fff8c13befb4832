// The ES module face of link.cjs: CommonJS so that job/dormant.cjs, which every Node.js child of a job loads when
// it joins, can require() it for next to nothing (an ES module there would start the ES module loader; docs/architecture.md).
export { Link, type JobMessage } from './link.cjs';
