#!/usr/bin/env node
// The `plugboard` executable (package.json `bin`: dist/cli/main.js).
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
// The host is stopped by now; exit even if a plugin left a handle open outside its context.
process.exit(process.exitCode ?? 0);
