#!/usr/bin/env node
// The `plugboard` executable (package.json `bin`: dist/cli/main.js).
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
