/** Largest event data shown on the live stream, in characters of JSON. */
export const MAX_DATA_CHARS = 2048;

/**
 * Event data as JSON text for the dashboard: at most {@link MAX_DATA_CHARS} characters, else the
 * JSON's start as a JSON string with `truncated: true`. Bytes, maps, sets and bigints are shown
 * in a readable form; data that cannot be shown (circular) is replaced by a note.
 */
export function showData(data: unknown): { json: string; truncated: boolean } {
  let json: string | undefined;
  try {
    json = JSON.stringify(data, replacer);
  } catch {
    return { json: '"[data that cannot be shown as JSON]"', truncated: false };
  }
  if (json === undefined) return { json: 'null', truncated: false };
  if (json.length <= MAX_DATA_CHARS) return { json, truncated: false };
  return { json: JSON.stringify(json.slice(0, MAX_DATA_CHARS)), truncated: true };
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
