// Handlers shared by every implementation: synchronous, they read the payload and count the
// call. The counts let the child prove that each side delivered every event it was asked to
// (no side may skip work), and the running total keeps the reads from being optimised away.

export const PAYLOAD = Object.freeze({ id: 'u-1', n: 1, email: 'ada@example.com' });

export function createSink() {
  let calls = 0;
  let total = 0;
  return {
    /** A fresh handler (distinct function per subscriber, so nothing can deduplicate them). */
    handler: () => (data) => {
      calls++;
      total += data.n;
    },
    calls: () => calls,
    total: () => total,
  };
}
