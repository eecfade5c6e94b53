/**
 * Two-phase commit on the embedded backend survives SIGKILL at each named point: the process
 * holding the coordinator and every participant dies, and a new one on the same log file and
 * ledgers finishes the transaction the way it was decided (see crash-points.ts).
 */
import { crashPointTests } from './crash-points.js';

crashPointTests('embedded');
