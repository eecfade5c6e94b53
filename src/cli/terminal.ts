import { onStopSignal } from './signals.js';

/**
 * What the cluster commands write to and how: stdout for results, stderr for errors and
 * progress; colors only on a terminal (NO_COLOR turns them off, FORCE_COLOR on), progress only
 * when stderr is a terminal.
 */
export interface Terminal {
  /** One line (or several) of results on stdout. */
  out(text: string): void;
  /** One line on stderr. */
  err(text: string): void;
  /** Styling for stdout text (identity functions without colors). */
  readonly style: Style;
  /** Start a progress line on stderr (a no-op unless stderr is a terminal). */
  progress(text: string): Progress;
  /** Call `handler` on SIGINT/SIGTERM; returns a function that removes it. */
  onSignal(handler: () => void): () => void;
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export interface Progress {
  update(text: string): void;
  /** Erase the line. Idempotent. */
  stop(): void;
}

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Whether to color what goes to `stream`: never when `NO_COLOR` is set (any non-empty value,
 * see no-color.org), always when `FORCE_COLOR` is set to anything but `0`/`false`, else only on
 * a terminal.
 */
export function colorsWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true;
}

const paint =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;

const COLORS: Style = {
  bold: paint(1, 22),
  dim: paint(2, 22),
  green: paint(32, 39),
  red: paint(31, 39),
  yellow: paint(33, 39),
  cyan: paint(36, 39),
};

const same = (text: string): string => text;
const PLAIN: Style = { bold: same, dim: same, green: same, red: same, yellow: same, cyan: same };

export function styleFor(colors: boolean): Style {
  return colors ? COLORS : PLAIN;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;
const NO_PROGRESS: Progress = { update: () => {}, stop: () => {} };

/** A spinner line on `stream`, redrawn in place; nothing at all unless `stream` is a terminal. */
export function spinner(stream: Stream, text: string): Progress {
  if (stream.isTTY !== true) return NO_PROGRESS;
  let current = text;
  let frame = 0;
  const draw = (): void => {
    stream.write(`\r\u001b[K${FRAMES[frame++ % FRAMES.length]} ${current}`);
  };
  draw();
  const timer = setInterval(draw, FRAME_MS);
  timer.unref();
  let stopped = false;
  return {
    update(next) {
      current = next;
      if (!stopped) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\u001b[K');
    },
  };
}

/** The real process: stdout, stderr, SIGINT/SIGTERM. */
export function processTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    style: styleFor(colorsWanted(process.stdout, env)),
    progress: (text) => spinner(process.stderr, text),
    onSignal: (handler) => onStopSignal(() => handler()),
  };
}

/**
 * Rows as aligned columns under a header (bold when colored). Cells are plain text: color is
 * applied after padding so escape codes never skew the widths.
 */
export function table(
  style: Style,
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  color?: (row: number, column: number, text: string) => string,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], paintCell: (column: number, text: string) => string) =>
    cells
      .map((cell, i) => paintCell(i, i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(header, (_, text) => style.bold(text)),
    ...rows.map((row, r) =>
      line(row, (c, text) => (color === undefined ? text : color(r, c, text))),
    ),
  ].join('\n');
}

/**
 * `text` from the cluster (an error message, a node id, event data) made safe to print on a
 * terminal: control characters (C0 but tab, DEL, C1) are shown as `\u001b`-style escapes, so
 * no escape sequence written by whoever made a message fail can drive the operator's terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) =>
    c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
