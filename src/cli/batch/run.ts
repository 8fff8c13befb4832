// Batch mode: commands from a file or stdin, one per line, each waiting for its result (see Controller for the
// waiting rules). Exit status 1 when any command failed; at the end the client detaches and the program runs on.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Controller } from '../repl/controller.js';

export interface BatchResult {
  failed: number;
  /** False when the connection ended before the script did. */
  attached: boolean;
}

export async function runBatch(controller: Controller, input: NodeJS.ReadableStream | string): Promise<BatchResult> {
  const stream = typeof input === 'string' ? createReadStream(input, 'utf8') : input;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let failed = 0;
  for await (const line of lines) {
    const report = await controller.execute(line);
    if (report?.error) failed++;
  }
  return { failed, attached: controller.dbg.state !== 'closed' };
}
