// What the Node.js agent tells a client in its initialize response. Apart from the session (session.ts), which the
// agent's worker loads only at the first attach: the server answers initialize before that.

import { AGENT_CAPABILITIES } from '../../protocol/capabilities.js';

export const EXCEPTION_FILTERS = [
  { filter: 'raised', label: 'Raised Exceptions', default: false, description: 'Stop where any exception is thrown, caught or not.' },
  { filter: 'uncaught', label: 'Uncaught Exceptions', default: true, description: 'Stop when an exception is not caught.' },
];

export const CAPABILITIES = { ...AGENT_CAPABILITIES, supportsFunctionBreakpoints: true, exceptionBreakpointFilters: EXCEPTION_FILTERS };
