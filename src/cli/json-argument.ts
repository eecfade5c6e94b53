import { safeJsonParse } from '../codec/safe-json.js';
import { ValidationError } from '../errors/errors.js';

/**
 * Parse a JSON command-line argument with the project's safe JSON (prototype-polluting keys
 * refused). A syntax error names the position (0-based) and shows it under the text:
 *
 * ```
 * --data is not valid JSON at position 5: Unexpected token '}'
 *   {"a":}
 *        ^
 * ```
 * @throws ValidationError with `details.position` for a syntax error; the safe parser's
 * SerializationError for a forbidden key.
 */
export function parseJsonArgument(text: string, what: string): unknown {
  try {
    JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    // V8 names the position in most messages; the others are located by bisection.
    const stated = / at position (\d+)/.exec(message)?.[1];
    const position = stated === undefined ? errorPosition(text) : Number(stated);
    const reason = message
      .replace(/^Unexpected token '(.+)', .*$/s, "Unexpected token '$1'")
      .replace(/ (in JSON )?at position \d+.*$/s, '');
    throw new ValidationError(
      `${what} is not valid JSON at position ${position}: ${reason}\n${pointAt(text, position)}`,
      { details: { position } },
    );
  }
  return safeJsonParse(text);
}

/**
 * Where parsing goes wrong when the parser does not say: the length of the longest prefix that
 * parses or fails only because it ends too soon (found by bisection). Exact for an unexpected
 * token after a complete value (`{"a":}`), the case V8 reports without a position.
 */
export function errorPosition(text: string): number {
  let good = 0;
  let bad = text.length + 1;
  while (bad - good > 1) {
    const middle = (good + bad) >>> 1;
    if (isValidPrefix(text.slice(0, middle))) good = middle;
    else bad = middle;
  }
  return good;
}

function isValidPrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    // Failing only at its very end means more text could complete it.
    const at = / at position (\d+)/.exec(message)?.[1];
    if (at !== undefined) return Number(at) >= prefix.length;
    return /Unexpected end of JSON input/.test(message);
  }
}

/** The line of `text` holding `position`, with a caret under it (long lines cut around it). */
function pointAt(text: string, position: number): string {
  const start = text.lastIndexOf('\n', position - 1) + 1;
  const endAt = text.indexOf('\n', position);
  const line = text.slice(start, endAt < 0 ? undefined : endAt);
  let column = position - start;
  let shown = line;
  if (line.length > 72) {
    const from = Math.max(0, column - 36);
    shown =
      (from > 0 ? '…' : '') + line.slice(from, from + 72) + (from + 72 < line.length ? '…' : '');
    column = column - from + (from > 0 ? 1 : 0);
  }
  return `  ${shown}\n  ${' '.repeat(column)}^`;
}
