/** Public types of `context.cache`. BASE DRAFT: the cache helper owns and completes this file. */
export interface Cache {
  readonly _draft?: never;
}
