// Keys and values shared by the cache scenarios: a small JSON-shaped object (~100 bytes as
// JSON), the same size for every key (the number in it is zero-padded), built before the window
// so no variant pays for building it inside the measured loop.

/** The hot case uses one key; the cold case this many distinct keys, visited round-robin. */
export const MANY_KEYS = 100_000;

export const userValue = (i) => ({
  id: `u-${String(i).padStart(6, '0')}`,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'dev'],
  n: i,
});

/** `{ keys, values }`: `count` keys `user:000000`..., each with its own value (`n` = index). */
export function dataset(count, prefix = '') {
  const keys = new Array(count);
  const values = new Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] = `${prefix}user:${String(i).padStart(6, '0')}`;
    values[i] = userValue(i);
  }
  return { keys, values };
}

/** Round-robin cursor over `count` keys. */
export function cursor(count) {
  let i = 0;
  return () => {
    const k = i;
    i = i + 1 === count ? 0 : i + 1;
    return k;
  };
}

/** Store every value with `set(key, value)`, `inFlight` at a time (pre-filling before a get run). */
export async function fill(set, { keys, values }, inFlight = 200) {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      await set(keys[i], values[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, keys.length) }, worker));
}
