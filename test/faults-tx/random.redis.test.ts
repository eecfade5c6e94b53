/**
 * Randomized SIGKILL points of two-phase commit on Redis: the coordinator process dies
 * mid-stream while the participant processes live on (see random-crashes.ts). Runs on a
 * throwaway redis-server.
 */
import { randomCrashTests } from './random-crashes.js';

randomCrashTests('redis');
