import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { MAX_LIVENESS_TTL_MS, redactUrl, redisAddress } from '../backends/redis/options.js';
import { ValidationError } from '../errors/errors.js';

/**
 * What the CLI reads from flags, environment variables and a config file, in that order of
 * precedence (flags > env > file > defaults), as Moleculer's runner does.
 */
export interface CliConfig {
  /** Redis URL of the cluster; absent: `start` runs in memory, cluster commands refuse to run. */
  redis?: string;
  /** Cluster namespace on Redis (default `plugboard`). */
  namespace?: string;
  /** This node's id (default: random). */
  nodeId?: string;
  /** Default RPC call deadline, ms (host `limits.rpcTimeout`). */
  rpcTimeout?: number;
  /** Bound on an async event handler, ms (host `limits.handlerTimeout`). */
  handlerTimeout?: number;
  /** Per-operation deadline of Redis commands, ms (backend `operationTimeout`). */
  operationTimeout?: number;
  /** How long a node stays registered without proving it is alive, ms (backend `livenessTtl`). */
  livenessTtl?: number;
  /** Bound on starting the host (connecting the backend included), ms. */
  startTimeout?: number;
  /** Bound on stopping the host, ms. */
  stopTimeout?: number;
}

export type ConfigField = keyof CliConfig;
/** Where a setting came from. */
export type ConfigSource = 'flag' | 'env' | 'file';

/** The settings and, for each one given, where it came from (unset fields use the defaults). */
export interface ResolvedConfig {
  readonly config: CliConfig;
  readonly sources: Readonly<Partial<Record<ConfigField, ConfigSource>>>;
  /** The config file read, when there was one. */
  readonly file: string | undefined;
}

/** The config file looked for in the working directory when none is named. */
export const DEFAULT_CONFIG_FILE = 'plugboard.config.json';

/** Environment variable of each setting. */
export const ENV_VARIABLES: Readonly<Record<ConfigField, string>> = {
  redis: 'PLUGBOARD_REDIS',
  namespace: 'PLUGBOARD_NAMESPACE',
  nodeId: 'PLUGBOARD_NODE_ID',
  rpcTimeout: 'PLUGBOARD_RPC_TIMEOUT',
  handlerTimeout: 'PLUGBOARD_HANDLER_TIMEOUT',
  operationTimeout: 'PLUGBOARD_OPERATION_TIMEOUT',
  livenessTtl: 'PLUGBOARD_LIVENESS_TTL',
  startTimeout: 'PLUGBOARD_START_TIMEOUT',
  stopTimeout: 'PLUGBOARD_STOP_TIMEOUT',
};

/** Names a config file instead of `--config` (then `plugboard.config.json` is not looked for). */
export const CONFIG_ENV_VARIABLE = 'PLUGBOARD_CONFIG';

const MAX_TIMER_MS = 2_147_483_647;
const milliseconds = z.number().int().min(1).max(MAX_TIMER_MS);
const redisUrl = z.string().refine(
  (url) => {
    try {
      redisAddress(url);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a Redis URL: redis://host:port, rediss://... or redis+unix:///path.sock' },
);

const configSchema = z
  .object({
    redis: redisUrl,
    namespace: z
      .string()
      .min(1)
      .regex(/^[^{}]+$/, 'must not contain braces'),
    nodeId: z.string().min(1).max(200),
    rpcTimeout: milliseconds,
    handlerTimeout: milliseconds,
    operationTimeout: milliseconds,
    livenessTtl: z.number().int().min(300).max(MAX_LIVENESS_TTL_MS),
    startTimeout: milliseconds,
    stopTimeout: milliseconds,
  })
  .partial()
  .strict();

const NUMERIC_FIELDS = new Set<ConfigField>([
  'rpcTimeout',
  'handlerTimeout',
  'operationTimeout',
  'livenessTtl',
  'startTimeout',
  'stopTimeout',
]);

/** Where to look: the flags given, the environment, the working directory. */
export interface ConfigInputs {
  /** Settings given as flags (undefined: not given). */
  flags?: Partial<Record<ConfigField, string | number | undefined>>;
  /** `--config <file>`. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Merge flags, environment and config file (flags > env > file), validating each source on its
 * own so an error names it: `PLUGBOARD_RPC_TIMEOUT (environment): ...`, `plugboard.config.json:
 * "rpcTimeout" ...`, `--redis: ...`.
 * @throws ValidationError naming the source (`details.source`) and the field (`details.field`).
 */
export async function resolveConfig(inputs: ConfigInputs = {}): Promise<ResolvedConfig> {
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const named = inputs.configFile ?? nonEmpty(env[CONFIG_ENV_VARIABLE]);
  const path = named === undefined ? resolve(cwd, DEFAULT_CONFIG_FILE) : resolve(cwd, named);
  let fromFile: CliConfig = {};
  let file: string | undefined;
  if (named !== undefined || existsSync(path)) {
    file = path;
    fromFile = validate(await readConfigFile(path), (field) => ({
      source: 'file',
      where: `${path}: field "${field}"`,
    }));
  }
  const fromEnv = validate(collectEnv(env), (field) => ({
    source: 'env',
    where: `${ENV_VARIABLES[field]} (environment variable)`,
  }));
  const fromFlags = validate(collectFlags(inputs.flags ?? {}), (field) => ({
    source: 'flag',
    where: `--${kebab(field)}`,
  }));
  const config: CliConfig = {};
  const sources: Partial<Record<ConfigField, ConfigSource>> = {};
  for (const [layer, source] of [
    [fromFile, 'file'],
    [fromEnv, 'env'],
    [fromFlags, 'flag'],
  ] as const) {
    for (const [field, value] of Object.entries(layer) as Array<[ConfigField, unknown]>) {
      if (value === undefined) continue;
      (config as Record<string, unknown>)[field] = value;
      sources[field] = source;
    }
  }
  return { config, sources, file };
}

async function readConfigFile(path: string): Promise<unknown> {
  if (!existsSync(path)) {
    throw new ValidationError(
      `Config file ${path} does not exist; check --config or ${CONFIG_ENV_VARIABLE}.`,
      { details: { source: 'file', file: path } },
    );
  }
  const extension = extname(path);
  if (extension === '.mjs' || extension === '.js') {
    try {
      const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
      return module.default;
    } catch (cause) {
      throw new ValidationError(
        `Config file ${path} could not be loaded: ${(cause as Error).message}`,
        {
          cause,
          details: { source: 'file', file: path },
        },
      );
    }
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (cause) {
    throw new ValidationError(
      `Config file ${path} is not valid JSON: ${(cause as Error).message}`,
      {
        cause,
        details: { source: 'file', file: path },
      },
    );
  }
}

function collectEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(ENV_VARIABLES) as Array<[ConfigField, string]>) {
    const value = nonEmpty(env[variable]);
    if (value !== undefined) out[field] = NUMERIC_FIELDS.has(field) ? toNumber(value) : value;
  }
  return out;
}

function collectFlags(flags: NonNullable<ConfigInputs['flags']>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(flags) as Array<[ConfigField, unknown]>) {
    if (value === undefined) continue;
    out[field] = NUMERIC_FIELDS.has(field) && typeof value === 'string' ? toNumber(value) : value;
  }
  return out;
}

/** A whole decimal number, or the text itself (which the schema then refuses, quoting it). */
function toNumber(text: string): number | string {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
}

function validate(
  value: unknown,
  describe: (field: ConfigField) => { source: ConfigSource; where: string },
): CliConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const { source, where } = describe('redis');
    throw new ValidationError(
      `${where.replace(/: field "redis"$/, '')} must hold an object of settings.`,
      {
        details: { source },
      },
    );
  }
  const parsed = configSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const { source, where } = describe(issue.keys[0] as ConfigField);
    throw new ValidationError(
      `${where} is not a setting; known: ${Object.keys(ENV_VARIABLES).join(', ')}.`,
      { details: { source, field: issue.keys[0] } },
    );
  }
  const field = String(issue.path[0]) as ConfigField;
  const { source, where } = describe(field);
  const given = (value as Record<string, unknown>)[field];
  throw new ValidationError(
    `${where} ${explain(field, issue.message)}; got ${show(given, field)}.`,
    {
      details: { source, field },
    },
  );
}

function explain(field: ConfigField, message: string): string {
  if (field === 'livenessTtl')
    return `must be a whole number of milliseconds from 300 to ${MAX_LIVENESS_TTL_MS}`;
  if (NUMERIC_FIELDS.has(field)) return 'must be a whole number of milliseconds, 1 or more';
  if (field === 'redis') return message;
  return `is invalid (${message})`;
}

function show(value: unknown, field: ConfigField): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(field === 'redis' ? redactUrl(value) : value);
}

function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
