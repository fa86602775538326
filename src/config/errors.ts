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

/** Every problem of a config file at once, one per line when printed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'ERR_CONFIG_INVALID';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}
