import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { parse, TomlError } from 'smol-toml';
import type { Env } from './env.js';
import { ConfigError } from './errors.js';
import { locateKeys } from './key-lines.js';
import type { Config } from './types.js';
import { validateConfig } from './validate/index.js';

export interface LoadOptions {
  readonly env?: Env;
  readonly osHostname?: string;
}

/** Nesting deeper than this is not a config anyone writes; it is refused early. */
const MAX_TOML_DEPTH = 32;

/** Parses and validates config text; throws ConfigError listing every problem. */
export function parseConfig(source: string, file: string, opts: LoadOptions = {}): Config {
  let root: Record<string, unknown>;
  try {
    root = parse(source, { unsafeKeyBehaviour: 'throw', maxDepth: MAX_TOML_DEPTH });
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      // smol-toml refuses keys that would reach JavaScript's object prototype; say which.
      const message = /unsafe property/.test(first)
        ? 'a key named __proto__ or constructor is not allowed in a config (no option has such a name)'
        : `invalid TOML: ${first}`;
      throw new ConfigError([{ file, line: err.line, path: 'syntax', message }]);
    }
    // smol-toml reports everything as TomlError; anything else is still the
    // file's fault, so it is reported the same way rather than crashing.
    throw new ConfigError([{ file, line: 1, path: 'syntax', message: `invalid TOML: ${(err as Error).message}` }]);
  }
  const { config, issues } = validateConfig(root, {
    file,
    lines: locateKeys(source),
    env: opts.env ?? process.env,
    osHostname: opts.osHostname ?? osHostname(),
  });
  if (!config) throw new ConfigError(issues);
  return config;
}

export async function loadConfigFile(file: string, opts: LoadOptions = {}): Promise<Config> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError([{ file, line: 1, path: 'file', message: `cannot read the config: ${why}` }]);
  }
  return parseConfig(source, file, opts);
}
