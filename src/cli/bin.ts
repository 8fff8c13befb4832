#!/usr/bin/env node
import { printError, processIo } from './io.js';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = printError(processIo(), err);
  },
);
