/** Public types of `context.dataSync`. BASE DRAFT: the data-sync helper owns and completes this file. */
export interface DataSync {
  readonly _draft?: never;
}
