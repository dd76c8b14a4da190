#!/usr/bin/env node
// The `voicetrace` command: report, summarize, compare. All the logic is in cli/run.ts (runCli),
// which tests drive in process; this file only binds it to the process.
import { runCli } from './cli/run.js';

// `voicetrace summarize dir | head`: a closed pipe is not an error
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
