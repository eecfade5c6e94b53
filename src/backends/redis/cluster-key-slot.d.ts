/** Types of `cluster-key-slot` (it ships none): the Redis Cluster slot of a key. */
declare module 'cluster-key-slot' {
  /** The slot (0..16383) of `key`, honouring its first non-empty `{tag}`. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
