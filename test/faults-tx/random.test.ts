/**
 * Randomized SIGKILL points of two-phase commit on the embedded backend: the whole process
 * (coordinator and participants) dies mid-stream and restarts on the same log file and ledgers
 * (see random-crashes.ts).
 */
import { randomCrashTests } from './random-crashes.js';

randomCrashTests('embedded');
