/**
 * The dashboard's dependency graph layout (a pure function of the page): columns by activation
 * level, rows ordered against crossings, one edge per dependency, unresolved plugins placed after
 * their dependencies, missing dependencies reported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutGraph, NODE_WIDTH, type GraphInput } from '../../src/dashboard/ui/graph-layout.js';

const plugin = (
  name: string,
  level: number | null,
  dependencies: Record<string, string> = {},
  state = 'active',
): GraphInput => ({ name, level, dependencies, state });

void describe('dashboard graph layout', () => {
  void it('puts each level in its own column, left to right, and draws one edge per dependency', () => {
    const layout = layoutGraph([
      plugin('orders', 2, { users: '^1.0.0', payments: '^2.0.0' }),
      plugin('users', 1, { auth: '^1.0.0' }),
      plugin('auth', 0),
      plugin('payments', 0),
    ]);
    const x = Object.fromEntries(layout.nodes.map((node) => [node.name, node.x]));
    assert.equal(x['auth'], x['payments']);
    assert.ok(x['auth']! < x['users']! && x['users']! < x['orders']!);
    assert.deepEqual(layout.edges.map((edge) => `${edge.from}->${edge.to} ${edge.range}`).sort(), [
      'orders->payments ^2.0.0',
      'orders->users ^1.0.0',
      'users->auth ^1.0.0',
    ]);
    assert.ok(layout.width >= 3 * NODE_WIDTH);
    assert.deepEqual(layout.missing, []);
    for (const edge of layout.edges) assert.match(edge.path, /^M[\d.]+,[\d.]+ C/);
  });

  void it('orders a column by the rows of what its plugins depend on (fewer crossings)', () => {
    // By name, column 1 would be [a-top, b-bottom]; their dependencies sit the other way round.
    const layout = layoutGraph([
      plugin('x', 0),
      plugin('y', 0),
      plugin('b', 1, { x: '*' }),
      plugin('a', 1, { y: '*' }),
    ]);
    const y = Object.fromEntries(layout.nodes.map((node) => [node.name, node.y]));
    assert.ok(y['x']! < y['y']!);
    assert.ok(y['b']! < y['a']!, 'b follows x to the top');
  });

  void it('places a plugin without a level after its dependencies and reports missing ones', () => {
    const layout = layoutGraph([
      plugin('base', 0),
      plugin('broken', null, { base: '^1.0.0', ghost: '^2.0.0' }, 'failed'),
    ]);
    const broken = layout.nodes.find((node) => node.name === 'broken')!;
    assert.equal(broken.level, 1);
    assert.equal(broken.state, 'failed');
    assert.deepEqual(layout.missing, [['broken', 'ghost', '^2.0.0']]);
    assert.equal(layout.edges.length, 1);
  });

  void it('lays out nothing for no plugins', () => {
    const layout = layoutGraph([]);
    assert.deepEqual(layout.nodes, []);
    assert.deepEqual(layout.edges, []);
  });
});
