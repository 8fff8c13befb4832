// One express service for the throughput benchmark: `node service.js <plain|agent> <agentPort>`. Serves
// GET /item/:id on an ephemeral port and prints `LISTENING <port>`; with `agent` it starts the Node.js agent and
// waits for the benchmark driver to attach and configure first. The request path goes through handle(), whose
// first line is where the driver puts a conditional breakpoint that is never true.

import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { enableAttach, waitForAttach } from '../../src/agent-node/index.js';

interface Response {
  json(body: unknown): void;
}
interface App {
  get(path: string, handler: (req: { params: Record<string, string> }, res: Response) => void): void;
  listen(port: number, host: string, ready: () => void): Server;
}

const express = createRequire(import.meta.url)('express') as () => App;
const [mode = 'plain', portText = '0'] = process.argv.slice(2);

/** Some work per request, like a handler that validates and shapes a record. */
function handle(id: number): { id: number; name: string; score: number } {
  let score = id; // @service
  for (let k = 0; k < 50; k++) score = ((score * 31) ^ (score >>> 3)) & 0xfffff;
  return { id, name: `item-${id}`, score };
}

if (mode === 'agent') {
  enableAttach({ secret: 'bench', host: '127.0.0.1', port: Number(portText) });
  if (!waitForAttach({ timeout: 30 })) throw new Error('no debugger attached');
}
const app = express();
app.get('/item/:id', (req, res) => {
  res.json(handle(Number(req.params['id'] ?? 0)));
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`);
});
