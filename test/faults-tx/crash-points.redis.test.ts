/**
 * Two-phase commit on Redis survives SIGKILL of the coordinator process at each named point: the
 * participant processes live on, a new coordinator starts, and the transaction is finished the
 * way it was decided (see crash-points.ts). Runs on a throwaway redis-server.
 */
import { crashPointTests } from './crash-points.js';

crashPointTests('redis');
