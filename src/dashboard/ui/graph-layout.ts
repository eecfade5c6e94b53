/**
 * A layered layout of the plugin dependency graph: one column per activation level (level 0 on
 * the left), plugins ordered inside a column to keep edges short (two barycenter sweeps), and
 * one edge from each plugin to every plugin it depends on. Pure: no DOM, so it is tested alone.
 */

export interface GraphInput {
  name: string;
  state: string;
  level: number | null;
  dependencies: Record<string, string>;
}

export interface LaidNode {
  name: string;
  state: string;
  level: number;
  x: number;
  y: number;
}

export interface LaidEdge {
  /** The plugin that depends. */
  from: string;
  /** The plugin it depends on. */
  to: string;
  range: string;
  /** SVG path data, from the dependent's left side to the dependency's right side. */
  path: string;
}

export interface GraphLayout {
  nodes: LaidNode[];
  edges: LaidEdge[];
  width: number;
  height: number;
  /** Dependencies named by a plugin that is not in the graph: `[plugin, dependency, range]`. */
  missing: Array<[string, string, string]>;
}

export const NODE_WIDTH = 176;
export const NODE_HEIGHT = 40;
const COLUMN_GAP = 72;
const ROW_GAP = 14;
const MARGIN = 12;

/**
 * Lay out `plugins`. A plugin without a level (it failed or was skipped before the host
 * resolved it) gets one more than the deepest of its dependencies present in the graph.
 */
export function layoutGraph(plugins: readonly GraphInput[]): GraphLayout {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
  const levels = new Map<string, number>();
  const levelOf = (name: string, seen: Set<string>): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    const plugin = byName.get(name)!;
    let level = plugin.level ?? 0;
    if (plugin.level === null && !seen.has(name)) {
      seen.add(name);
      for (const dependency of Object.keys(plugin.dependencies))
        if (byName.has(dependency)) level = Math.max(level, levelOf(dependency, seen) + 1);
    }
    levels.set(name, level);
    return level;
  };
  for (const plugin of plugins) levelOf(plugin.name, new Set());

  const columns: string[][] = [];
  for (const plugin of [...plugins].sort((a, b) => a.name.localeCompare(b.name))) {
    const level = levels.get(plugin.name)!;
    (columns[level] ??= []).push(plugin.name);
  }
  const filled = columns.filter((column) => column !== undefined);
  orderColumns(filled, byName);

  const tallest = Math.max(1, ...filled.map((column) => column.length));
  const height = MARGIN * 2 + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP;
  const nodes: LaidNode[] = [];
  const position = new Map<string, LaidNode>();
  filled.forEach((column, index) => {
    const columnHeight = column.length * NODE_HEIGHT + (column.length - 1) * ROW_GAP;
    const top = (height - columnHeight) / 2;
    column.forEach((name, row) => {
      const node: LaidNode = {
        name,
        state: byName.get(name)!.state,
        level: levels.get(name)!,
        x: MARGIN + index * (NODE_WIDTH + COLUMN_GAP),
        y: top + row * (NODE_HEIGHT + ROW_GAP),
      };
      nodes.push(node);
      position.set(name, node);
    });
  });

  const edges: LaidEdge[] = [];
  const missing: Array<[string, string, string]> = [];
  for (const plugin of plugins) {
    for (const [dependency, range] of Object.entries(plugin.dependencies)) {
      const from = position.get(plugin.name)!;
      const to = position.get(dependency);
      if (to === undefined) {
        missing.push([plugin.name, dependency, range]);
        continue;
      }
      edges.push({ from: plugin.name, to: dependency, range, path: edgePath(from, to) });
    }
  }
  const width =
    filled.length === 0
      ? MARGIN * 2
      : MARGIN * 2 + filled.length * NODE_WIDTH + (filled.length - 1) * COLUMN_GAP;
  return { nodes, edges, width, height, missing };
}

/** A curve from the left side of `from` to the right side of `to` (to a side when level ties). */
function edgePath(from: LaidNode, to: LaidNode): string {
  const y1 = from.y + NODE_HEIGHT / 2;
  const y2 = to.y + NODE_HEIGHT / 2;
  if (to.x < from.x) {
    const x1 = from.x;
    const x2 = to.x + NODE_WIDTH;
    const bend = (x1 - x2) / 2;
    return `M${x1},${y1} C${x1 - bend},${y1} ${x2 + bend},${y2} ${x2},${y2}`;
  }
  // Same column (or a cycle the host refused): loop around the right side.
  const x = from.x + NODE_WIDTH;
  return `M${x},${y1} C${x + 40},${y1} ${x + 40},${y2} ${x},${y2}`;
}

/**
 * Reorder each column by the mean row of the neighbours in the column before (left to right),
 * then in the column after (right to left): the usual heuristic against crossing edges.
 */
function orderColumns(columns: string[][], byName: Map<string, GraphInput>): void {
  const dependents = new Map<string, string[]>();
  for (const plugin of byName.values())
    for (const dependency of Object.keys(plugin.dependencies))
      (dependents.get(dependency) ?? dependents.set(dependency, []).get(dependency)!).push(
        plugin.name,
      );
  const sweep = (index: number, reference: string[], neighbours: (name: string) => string[]) => {
    const rows = new Map(reference.map((name, row) => [name, row]));
    const column = columns[index]!;
    const key = new Map(
      column.map((name, row) => {
        const near = neighbours(name)
          .map((other) => rows.get(other))
          .filter((row): row is number => row !== undefined);
        return [name, near.length === 0 ? row : near.reduce((a, b) => a + b, 0) / near.length];
      }),
    );
    column.sort((a, b) => key.get(a)! - key.get(b)! || a.localeCompare(b));
  };
  for (let index = 1; index < columns.length; index++)
    sweep(index, columns[index - 1]!, (name) => Object.keys(byName.get(name)!.dependencies));
  for (let index = columns.length - 2; index >= 0; index--)
    sweep(index, columns[index + 1]!, (name) => dependents.get(name) ?? []);
}
