/**
 * Every code block of docs/guide.md, run as written.
 *
 * The guide is parsed into fenced blocks. Each block's info string says what to do with it:
 * - ```ts                       a complete program: written to a scratch folder and imported in
 *                               this process (tsx compiles it), `from 'plugboard'` meaning the
 *                               source (through ./plugboard.ts, which records the hosts it creates:
 *                               a block must stop every host it starts);
 * - ```ts guide:redis           the same, on the shared Redis with a unique namespace;
 * - ```ts guide:requires=<api>  the same, once that agreed API exists in the source (before, the
 *                               test is skipped, saying so); see `probes`;
 * - ```<lang> guide:file=<path> a file the other blocks use, written to the scratch folder first
 *                               (a `*.test.ts` file is also run with `node --test`);
 * - ```sh guide:run             a `npx plugboard ...` command, run with the CLI from the source
 *                               under tsx, in the scratch folder; it must exit 0;
 * - ```ts guide:skip <reason>   a fragment, not run (none today);
 * - any other block             illustration (JSON, shell), not run.
 * Blocks run in order, in one scratch folder (the current directory while they run). Besides,
 * every TypeScript block is type-checked as a user's project would compile it: `plugboard`
 * mapped to the source, `declare module 'plugboard'` contracts included, strict options.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PluginContext } from '../../src/index.js';
import { takeHosts } from './plugboard.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GUIDE = join(ROOT, 'docs/guide.md');
const SOURCE_INDEX = join(ROOT, 'src/index.ts');
/** What `plugboard` is for the blocks run in this process: the source, hosts recorded. */
const SHIM = join(ROOT, 'test/guide/plugboard.ts');
const CLI = join(ROOT, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** Bound on one block (the durable dead-letter block waits about 3 s of backoff). */
const BLOCK_TIMEOUT_MS = 60_000;

export interface GuideBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** Words after the language. */
  readonly flags: readonly string[];
  readonly code: string;
  /** The section (`## ` heading) it is in. */
  readonly section: string;
}

/** The fenced code blocks of a Markdown text. */
export function parseBlocks(markdown: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  const lines = markdown.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('## ')) section = lines[i]!.slice(3).trim();
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    assert.ok(i < lines.length, `unclosed code block at docs/guide.md:${start + 1}`);
    blocks.push({
      line: start + 1,
      lang: open[1]!,
      flags: open[2]!.split(/\s+/).filter(Boolean),
      code: `${body.join('\n')}\n`,
      section,
    });
  }
  return blocks;
}

function flag(block: GuideBlock, name: string): string | undefined {
  const found = block.flags.find((f) => f === name || f.startsWith(`${name}=`));
  return found === undefined ? undefined : (found.split('=')[1] ?? '');
}

/** Point `plugboard` imports at the source (`declare module 'plugboard'` stays as written). */
function toSource(code: string, target = SOURCE_INDEX): string {
  return code.replace(/(\bfrom\s+)'plugboard'/g, `$1${JSON.stringify(target)}`);
}

/** Namespaces given to Redis blocks, deleted after the run. */
const namespaces: string[] = [];
function freshNamespace(label: string): string {
  const ns = uniqueNamespace(label);
  namespaces.push(ns);
  return ns;
}

/** Redis blocks: the shared test Redis, and a namespace no other run uses. */
function toTestRedis(code: string): string {
  return code
    .replaceAll("'redis://127.0.0.1:6379'", JSON.stringify(SHARED_REDIS_URL))
    .replaceAll('--redis redis://127.0.0.1:6379', `--redis ${SHARED_REDIS_URL}`)
    .replace(/namespace: '([^']+)'/g, (_m, ns: string) => `namespace: '${freshNamespace(ns)}'`)
    .replace(/--namespace (\S+)/g, (_m, ns: string) => `--namespace ${freshNamespace(ns)}`);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run node with `args`; `background`: at a lower CPU priority (it overlaps timed blocks). */
function run(
  args: string[],
  cwd: string,
  timeoutMs = BLOCK_TIMEOUT_MS,
  background = false,
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (background && child.pid !== undefined) {
      try {
        // Mild: it yields to the blocks' timers when the CPU is contended, yet is never starved
        // by a busy machine (nice 19 was, past the file's bound).
        setPriority(child.pid, 5);
      } catch {
        // Not supported here: it runs at the normal priority.
      }
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/**
 * Whether an API agreed for this release exists yet in the source (the guide documents it; its
 * blocks run as soon as it does). Each probe is the smallest observable use of the API.
 */
const probes: Record<string, () => Promise<boolean>> = {
  async waitFor() {
    const context = await probeContext();
    return (
      typeof (context.rpcClient as unknown as Record<string, unknown>)['waitForService'] ===
        'function' &&
      typeof (context.eventBus as unknown as Record<string, unknown>)['waitFor'] === 'function'
    );
  },
  async parity() {
    const { createHost, definePlugin } = await import('../../src/index.js');
    let publish: ((data: unknown) => Promise<void>) | undefined;
    const host = await createHost({
      logger: false,
      parity: true,
      plugins: [
        definePlugin({
          name: 'probe',
          version: '0.0.0',
          activate: (c) => {
            c.eventBus.subscribe('probe.x', () => {});
            publish = (data) => c.eventBus.publish('probe.x', data);
          },
        }),
      ],
    });
    try {
      await host.start();
      return await publish!({ f: () => 1 }).then(
        () => false,
        (error: unknown) => hasCode(error, 'PB_SERIALIZATION'),
      );
    } finally {
      await host.stop();
    }
  },
  async strictStart() {
    const { createHost, definePlugin } = await import('../../src/index.js');
    const host = await createHost({
      logger: false,
      strictStart: true,
      plugins: [
        definePlugin({
          name: 'probe',
          version: '0.0.0',
          activate: () => {
            throw new Error('probe');
          },
        }),
      ],
    });
    try {
      return await host.start().then(
        () => false,
        (error: unknown) => hasCode(error, 'PB_PLUGIN_START'),
      );
    } finally {
      await host.stop();
    }
  },
  async engineRange() {
    const { createHost, definePlugin } = await import('../../src/index.js');
    try {
      const plugin = definePlugin({
        name: 'probe',
        version: '0.0.0',
        plugboard: '^99.0.0',
        activate() {},
      });
      const host = await createHost({ logger: false, plugins: [plugin] });
      try {
        return await host.start().then(
          () => false,
          (error: unknown) => hasCode(error, 'PB_DEPENDENCY_VERSION'),
        );
      } finally {
        await host.stop();
      }
    } catch {
      return false; // definePlugin does not know the `plugboard` field yet
    }
  },
  async repeat() {
    const context = (await probeContext()) as unknown as Record<string, unknown>;
    const queue = context['messageQueue'] as Record<string, unknown> | undefined;
    return typeof queue?.['repeat'] === 'function';
  },
};

function hasCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}

async function probeContext() {
  const { createHost, definePlugin } = await import('../../src/index.js');
  let context!: PluginContext;
  const host = await createHost({
    logger: false,
    plugins: [
      definePlugin({ name: 'probe', version: '0.0.0', activate: (c) => void (context = c) }),
    ],
  });
  await host.start();
  await host.stop();
  return context;
}

/**
 * Type-check every TypeScript block as a user's project would compile it: tsc in a child process
 * (in `<scratch>/typecheck`) at a lower priority, so that it works while the blocks run without
 * taking the CPU from their timers (a block's lock TTL is 300 ms).
 */
async function typeCheckBlocks(scratch: string): Promise<RunResult> {
  // The blocks as a user's project has them (`from 'plugboard'`, `declare module 'plugboard'`),
  // with 'plugboard' mapped to the source. Blocks of APIs not in the source yet are left out.
  const dir = join(scratch, 'typecheck');
  const files: string[] = [];
  for (const block of blocks) {
    if (block.lang !== 'ts' || flag(block, 'guide:skip') !== undefined) continue;
    const requires = flag(block, 'guide:requires');
    if (requires !== undefined && !(await probes[requires]!())) continue;
    const file = flag(block, 'guide:file') ?? `block-${block.line}.ts`;
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), block.code);
    files.push(file);
  }
  const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        ...base.compilerOptions,
        declaration: false,
        sourceMap: false,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        paths: { plugboard: [SOURCE_INDEX] },
      },
      files,
    }),
  );
  return run([TSC, '--noEmit', '-p', join(dir, 'tsconfig.json')], dir, 300_000, true);
}

const blocks = parseBlocks(readFileSync(GUIDE, 'utf8'));

describe('docs/guide.md', () => {
  let scratch: string;
  let typeCheck: Promise<RunResult> | undefined;
  const home = process.cwd();
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'pb-guide-'));
    // An ES-module app folder, as a user's would be (top-level await in every block).
    await writeFile(join(scratch, 'package.json'), '{ "type": "module" }\n');
    for (const block of blocks) {
      const path = flag(block, 'guide:file');
      if (path === undefined) continue;
      await mkdir(dirname(join(scratch, path)), { recursive: true });
      await writeFile(join(scratch, path), toSource(block.code));
    }
    process.env['PLUGBOARD_LOG_LEVEL'] ??= 'silent';
    process.chdir(scratch);
    // tsc works in a child process while the blocks run here (its test, last, awaits it).
    typeCheck = typeCheckBlocks(scratch);
    typeCheck.catch(() => undefined); // reported by the type-check test
  });
  after(async () => {
    await typeCheck?.catch(() => undefined); // its files are in the scratch folder
    process.chdir(home);
    await Promise.all(namespaces.map((ns) => deleteNamespace(SHARED_REDIS_URL, ns)));
    await rm(scratch, { recursive: true, force: true });
  });

  it('uses only markers the runner knows, and has runnable blocks', () => {
    const known = ['guide:file', 'guide:redis', 'guide:requires', 'guide:run', 'guide:skip'];
    for (const block of blocks) {
      for (const f of block.flags.filter((f) => f.startsWith('guide:'))) {
        assert.ok(known.includes(f.split('=')[0]!), `unknown marker ${f} at line ${block.line}`);
      }
    }
    assert.ok(blocks.filter((b) => b.lang === 'ts' && b.flags.length === 0).length >= 10);
  });

  for (const block of blocks) {
    const where = `docs/guide.md:${block.line} (${block.section})`;
    const file = flag(block, 'guide:file');
    const skip = flag(block, 'guide:skip');
    if (file !== undefined) {
      if (file.endsWith('.test.ts')) {
        it(`${where}: ${file} passes with node --test`, { timeout: BLOCK_TIMEOUT_MS }, async () => {
          const result = await run(['--import', TSX, '--test', file], scratch);
          assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        });
      }
      continue;
    }
    if (block.lang === 'sh' && flag(block, 'guide:run') !== undefined) {
      it(`${where}: ${block.code.trim()}`, { timeout: BLOCK_TIMEOUT_MS }, async () => {
        const code =
          flag(block, 'guide:redis') === undefined ? block.code : toTestRedis(block.code);
        const command = /npx plugboard (.*)$/m.exec(code);
        assert.ok(command, 'a guide:run block runs `npx plugboard ...`');
        // `NODE_OPTIONS="--import tsx" npx plugboard`: the CLI from the source, under tsx.
        const result = await run(['--import', TSX, CLI, ...command[1]!.split(/\s+/)], scratch);
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        // `start` says how many plugins ran; `inspect` how many it found.
        const inspect = command[1]!.startsWith('inspect');
        assert.match(result.stdout, inspect ? /^plugboard: \d+ plugins? in /m : /plugins active/);
        if (code !== block.code) assert.match(result.stdout, /backend redis/);
      });
      continue;
    }
    if (block.lang !== 'ts') continue;
    if (skip !== undefined) {
      void it.skip(`${where} (not run: ${block.flags.slice(1).join(' ')})`);
      continue;
    }
    const requires = flag(block, 'guide:requires');
    it(
      `${where}${requires === undefined ? '' : `, needs ${requires}`}`,
      { timeout: BLOCK_TIMEOUT_MS },
      async (t) => {
        if (requires !== undefined) {
          const probe = probes[requires];
          assert.ok(probe, `no probe for guide:requires=${requires}`);
          if (!(await probe())) {
            t.skip(`${requires} is not in the source yet`);
            return;
          }
        }
        let code = toSource(block.code, SHIM);
        if (flag(block, 'guide:redis') !== undefined) code = toTestRedis(code);
        const path = join(scratch, `block-${block.line}.ts`);
        await writeFile(path, code);
        takeHosts();
        try {
          await import(pathToFileURL(path).href);
        } finally {
          const hosts = takeHosts();
          const running = hosts.filter((host) => host.health().status !== 'stopped');
          await Promise.all(running.map((host) => host.stop()));
          assert.deepEqual(
            running.map((host) => host.nodeId),
            [],
            'the block stops every host it creates',
          );
        }
      },
    );
  }

  it(
    'type-checks: every TypeScript block compiles against the package types',
    { timeout: 300_000 },
    async () => {
      // The blocks as a user's project has them (`from 'plugboard'`, `declare module 'plugboard'`),
      // with 'plugboard' mapped to the source; started in `before`, so it overlaps the blocks.
      assert.ok(typeCheck, 'the type-check was started');
      const result = await typeCheck;
      assert.equal(result.code, 0, result.stdout + result.stderr);
    },
  );
});
