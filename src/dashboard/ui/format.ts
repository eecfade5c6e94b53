/** Small display helpers shared by the panels. */

/** `HH:MM:SS.mmm` in local time. */
export function clock(time: number): string {
  const date = new Date(time);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** How long ago (or from now) `time` is, roughly: `3 s ago`, `in 12 s`. */
export function relative(time: number, now = Date.now()): string {
  const seconds = Math.round((time - now) / 1000);
  const amount = Math.abs(seconds);
  const text = amount < 120 ? `${amount} s` : `${Math.round(amount / 60)} min`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

/** JSON of `value` on one line, cut to `max` characters. */
export function preview(value: unknown, max = 140): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The first characters of a long id. */
export const short = (id: string, length = 8): string =>
  id.length <= length ? id : `${id.slice(0, length)}…`;
