// The relay between a client's connection (authenticated at the gateway) and the session a process of the job
// opened for it (`?pid=`, docs/protocol.md 5.3). Client -> process: every message the client sends after
// selectProcess, as it came. Process -> client: every message, numbered by the client's connection.
//
// When the process's side ends without its session having ended (the process was killed, or exited while
// stopped), the client is told so (an `output` line and `terminated`) and its connection closes; when the client
// goes, the process's session socket is closed, which detaches there.

import type { JobClient, JobRelay } from '../../server/gate.js';
import type { Link } from './link.js';

export class Relay implements JobRelay {
  readonly #client: JobClient;
  readonly #link: Link;
  #closed = false;
  /** The process's session said terminated, or answered disconnect. */
  #ended = false;

  constructor(client: JobClient, link: Link, pid: number) {
    this.#client = client;
    this.#link = link;
    link.on('message', (message) => {
      if (message.type === 'event' && message.event === 'terminated') this.#ended = true;
      if (message.type === 'response' && (message.command === 'disconnect' || message.command === 'terminate')) this.#ended = true;
      const { seq: _seq, ...rest } = message;
      client.send(rest as { type: string });
    });
    link.on('close', () => {
      if (!this.#closed && !this.#ended) {
        client.send({ type: 'event', event: 'output', body: { category: 'console', output: `longreach: process ${pid} ended while attached (its session closed)\n` } });
        client.send({ type: 'event', event: 'terminated', body: {} });
      }
      client.close();
    });
  }

  toChild(message: Record<string, unknown>): void {
    if (!this.#link.send(message)) this.#client.close();
  }

  close(): void {
    this.#closed = true;
    this.#link.close();
  }
}
