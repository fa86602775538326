/** One problem in a config file, located for the user. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  /** Dotted key path as written (no array indices), or "syntax". */
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}: ${issue.path}: ${issue.message}`;
}

/** C0 and C1 control characters and DEL: never printed raw. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escapes control characters the way a TOML basic string writes them
 * (`\n`, `\u0000`): messages quote keys and values from the file, and a
 * raw NUL, newline or terminal escape must not reach the terminal or split
 * one issue over several lines.
 */
function printable(s: string): string {
  return s.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Every problem of a config file at once, one per line when printed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'ERR_CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const shown = issues.map((i) => ({ ...i, path: printable(i.path), message: printable(i.message) }));
    super(shown.map(formatIssue).join('\n'));
    this.issues = shown;
  }
}
