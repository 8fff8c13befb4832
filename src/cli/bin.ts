#!/usr/bin/env node
import { printError, processIo } from './io.js';
import { main } from './main.js';

// A reader that stops reading (`longreach stacks ... | head -1`) ends the command quietly, as it ends any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = printError(processIo(), err);
  },
);
