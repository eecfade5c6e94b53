import type { PluginRow } from './api';
import { layoutGraph, NODE_HEIGHT, NODE_WIDTH } from './graph-layout';

/** The plugins' dependency graph as SVG: columns by activation level, arrows to dependencies. */
export function DependencyGraph({ plugins }: { plugins: PluginRow[] }) {
  if (plugins.length === 0) return <p class="empty">No plugins.</p>;
  const layout = layoutGraph(plugins);
  const levels = [...new Set(layout.nodes.map((node) => node.level))];
  return (
    <div class="graph">
      <svg
        viewBox={`0 0 ${layout.width} ${layout.height + 18}`}
        width={layout.width}
        role="img"
        aria-label="Plugin dependency graph"
        data-testid="dependency-graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        {levels.map((level) => {
          const node = layout.nodes.find((n) => n.level === level)!;
          return (
            <text class="level-label" x={node.x + NODE_WIDTH / 2} y={layout.height + 12}>
              level {level}
            </text>
          );
        })}
        {layout.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            class="edge"
            d={edge.path}
            marker-end="url(#arrow)"
            data-edge={`${edge.from}->${edge.to}`}
          >
            <title>
              {edge.from} depends on {edge.to} {edge.range}
            </title>
          </path>
        ))}
        {layout.nodes.map((node) => (
          <g
            key={node.name}
            class={`node state-${node.state}`}
            transform={`translate(${node.x},${node.y})`}
            data-plugin={node.name}
          >
            <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="6" />
            <text x="10" y="17" class="node-name">
              {shorten(node.name, 24)}
            </text>
            <text x="10" y="32" class="node-state">
              {node.state}
            </text>
            <title>
              {node.name} ({node.state}, level {node.level})
            </title>
          </g>
        ))}
      </svg>
      {layout.missing.length > 0 && (
        <p class="warning">
          Missing:{' '}
          {layout.missing.map(([plugin, dependency, range]) => (
            <span key={`${plugin}/${dependency}`}>
              {plugin} needs {dependency} {range}.{' '}
            </span>
          ))}
        </p>
      )}
      <p class="hint">An arrow goes from a plugin to a plugin it depends on.</p>
    </div>
  );
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
