/** Largest event data shown on the live stream, in characters of JSON. */
export const MAX_DATA_CHARS = 2048;

/**
 * Event data as JSON text for the dashboard: at most {@link MAX_DATA_CHARS} characters, else the
 * JSON's start as a JSON string with `truncated: true`. Bytes, maps, sets and bigints are shown
 * in a readable form; data that cannot be shown (circular) is replaced by a note. Only as much
 * of the data is read as the preview needs: past the bound, strings are cut and further values
 * left out, so a huge event costs about as much to show as a small one.
 */
export function showData(data: unknown): { json: string; truncated: boolean } {
  const budget = new Budget(MAX_DATA_CHARS + 1);
  let json: string | undefined;
  try {
    json = JSON.stringify(data, (key: string, value: unknown) => budget.take(key, readable(value)));
  } catch {
    return { json: '"[data that cannot be shown as JSON]"', truncated: false };
  }
  if (json === undefined) return { json: 'null', truncated: false };
  if (json.length <= MAX_DATA_CHARS && !budget.exhausted) return { json, truncated: false };
  return { json: JSON.stringify(json.slice(0, MAX_DATA_CHARS)), truncated: true };
}

/**
 * Characters of output left: each key and value is charged about what it adds to the JSON
 * (never more), so once the charge passes the bound the JSON is already longer than it.
 */
class Budget {
  exhausted = false;

  constructor(private left: number) {}

  take(key: string, value: unknown): unknown {
    if (this.exhausted) return undefined;
    this.left -= key.length;
    if (typeof value === 'string') {
      if (value.length > this.left) {
        this.exhausted = true;
        return value.slice(0, Math.max(0, this.left));
      }
      this.left -= value.length;
    } else if (typeof value === 'object' && value !== null) this.left -= 2;
    else this.left -= String(value).length;
    if (this.left < 0) this.exhausted = true;
    return value;
  }
}

function readable(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
