// `${VAR}` in a string value is replaced from the environment, so secrets and
// per-host values stay out of the file. `${VAR:-fallback}` gives a default;
// `$${` writes a literal `${`.

export type Env = Readonly<Record<string, string | undefined>>;

export class UnsetVariableError extends Error {
  override name = 'UnsetVariableError';
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set (write \${${variable}:-default} to give a default)`);
  }
}

const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?/g;

export function expandEnv(value: string, env: Env): string {
  if (!value.includes('${')) return value;
  return value.replace(REF, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$${') return '${';
    if (name === undefined) {
      throw new Error(`invalid variable reference "${whole}": write \${NAME} with letters, digits and _`);
    }
    // Own entries only: `${toString}` must not find Object.prototype's.
    const v = Object.hasOwn(env, name) ? env[name] : undefined;
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    if (v === '') return '';
    throw new UnsetVariableError(name);
  });
}
