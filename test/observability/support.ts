import {
  createHost,
  definePlugin,
  type Host,
  type HostOptions,
  type PluginContext,
} from '../../src/index.js';

/** A started host with plugins `names` (their contexts by name). */
export async function startHost(
  names: readonly string[],
  options: HostOptions = {},
): Promise<{ host: Host; ctx: Record<string, PluginContext> }> {
  const ctx: Record<string, PluginContext> = {};
  const host = await createHost({
    logLevel: 'silent',
    parity: false,
    ...options,
    plugins: names.map((name) =>
      definePlugin({ name, version: '1.0.0', activate: (c) => void (ctx[name] = c) }),
    ),
  });
  await host.start();
  return { host, ctx };
}

/** The value of one sample line of Prometheus text (`name{labels} value`), or undefined. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
