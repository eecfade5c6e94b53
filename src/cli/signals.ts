/** Call `handler` on each SIGINT/SIGTERM; returns a function that removes it. */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
