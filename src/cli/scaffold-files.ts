/** What `plugboard new` writes: the files of a folder plugin, by name. */
export interface ScaffoldInput {
  /** The plugin's name (package.json `name`). */
  name: string;
  /** The RPC service it registers and the prefix of its events. */
  service: string;
  /** Plugboard versions it supports (`peerDependencies.plugboard`). */
  engine: string;
}

/**
 * A folder plugin in plain JavaScript (no build step, no loader: what `plugboard start` loads
 * from a folder as is), with a `node:test` test that runs it in a real host, and a README.
 */
export function scaffoldFiles({ name, service, engine }: ScaffoldInput): Record<string, string> {
  const event = `${service}.greeted`;
  const pkg = {
    name,
    version: '0.1.0',
    description: `The ${name} Plugboard plugin.`,
    type: 'module',
    main: 'index.js',
    scripts: { test: 'node --test' },
    peerDependencies: { plugboard: engine },
    plugboard: {
      permissions: [`rpc:register:${service}`, `events:publish:${service}.*`],
      options: { greeting: 'Hello' },
    },
  };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'index.js': `// @ts-check
// The ${name} plugin. \`plugboard start <app>\` loads this file (package.json "main") and calls
// activate(context) once the plugins it depends on are active.

/** @type {{ activate(context: import('plugboard').PluginContext): void }} */
const plugin = {
  activate(context) {
    const greeting = String(context.options['greeting'] ?? 'Hello');
    context.rpcServer.register('${service}', {
      /** @param {unknown} who */
      hello(who) {
        if (typeof who !== 'string' || who === '') {
          throw new RangeError('hello(name) needs a non-empty name');
        }
        const message = \`\${greeting}, \${who}!\`;
        // Not awaited: the caller gets its answer while subscribers hear about it.
        void context.eventBus.publish('${event}', { name: who, message });
        return message;
      },
    });
    context.logger.info({ greeting }, '${service} ready');
  },
  // deactivate(context) is optional: the host releases the plugin's services, subscriptions,
  // timers and background work on its own.
};

export default plugin;
`,
    'index.test.js': `// Runs the plugin in a real host (the embedded backend: nothing to set up or clean up) next to
// a probe plugin whose context calls it. Run with \`node --test\` (or \`npm test\`) in this folder.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { createHost, definePlugin } from 'plugboard';

const folder = fileURLToPath(new URL('.', import.meta.url));

/** @type {import('plugboard').Host} */
let host;
/** @type {import('plugboard').PluginContext} */
let probe;

before(async () => {
  host = await createHost({
    logger: false,
    plugins: [
      folder,
      definePlugin({ name: 'probe', version: '0.0.0', activate: (c) => void (probe = c) }),
    ],
  });
  const started = await host.start();
  assert.equal(started.ok, true, JSON.stringify(host.health().plugins));
});
after(() => host?.stop());

it('greets with the greeting from its options and tells the others', async () => {
  /** @type {unknown[]} */
  const greeted = [];
  const subscription = probe.eventBus.subscribe('${event}', (data) => void greeted.push(data));
  assert.equal(await probe.rpcClient.call('${service}', 'hello', ['Ada']), 'Hello, Ada!');
  assert.equal(await host.idle(1000), true); // every handler has run
  assert.deepEqual(greeted, [{ name: 'Ada', message: 'Hello, Ada!' }]);
  subscription.unsubscribe();
});

it('refuses an empty name', async () => {
  await assert.rejects(probe.rpcClient.call('${service}', 'hello', ['']), { name: 'RangeError' });
});
`,
    'README.md': `# ${name}

A [Plugboard](https://www.npmjs.com/package/plugboard) plugin. It registers the RPC service
\`${service}\` with one method, \`hello(name)\`, which answers \`"<greeting>, <name>!"\` and
publishes \`${event}\` with \`{ name, message }\`.

| file | what it is |
| --- | --- |
| \`package.json\` | the manifest: name, version, \`main\`, plugin \`dependencies\` (none yet), and the \`plugboard\` field |
| \`index.js\` | the plugin: \`activate(context)\` registers the service |
| \`index.test.js\` | its test: the plugin in a real host, called by a probe plugin |

## Run its test

\`\`\`sh
node --test        # or: npm test
\`\`\`

The test imports \`plugboard\`: install it in the application holding this folder
(\`npm install plugboard\`), or in this folder when it lives on its own (\`npm install\` installs the
peer dependency).

## Run it

\`\`\`sh
npx plugboard start <app> --watch
\`\`\`

runs every plugin folder of \`<app>/plugins\` (or of \`<app>\`); with \`--watch\`, saving a file of
this folder reloads this plugin (and the plugins depending on it) while the others keep running.

## Permissions and options

\`plugboard.permissions\` lists what the plugin may do (\`rpc:register:${service}\`,
\`events:publish:${service}.*\`). The host enforces the list: anything else fails with
\`PermissionDeniedError\` naming the capability to add. \`plugboard.options\` reaches the plugin as
\`context.options\` (here the \`greeting\`).

To use another plugin, name it in \`dependencies\` with a semver range (\`"users-plugin": "^1.0.0"\`):
the host starts it first. To call its service, add \`rpc:call:<service>\` to the permissions.
`,
  };
}
