// Runs every scenario of the shared table against every agent (Node.js and Python).

import { describe, test } from 'node:test';
import { AGENTS } from './agents.js';
import { SCENARIOS } from './scenarios.js';

for (const agent of AGENTS) {
  describe(`conformance: ${agent.lang} agent`, () => {
    for (const scenario of SCENARIOS) {
      test(scenario.name, { timeout: 60_000 }, (t) => scenario.run(t, agent));
    }
  });
}
