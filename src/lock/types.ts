/** Public types of `context.lock`. BASE DRAFT: the lock helper owns and completes this file. */
export interface LockService {
  readonly _draft?: never;
}
