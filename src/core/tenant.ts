// Tenant IDs, as Grafana Pyroscope (dskit's tenant.ValidTenantID, the
// Cortex/Mimir rule) accepts them in X-Scope-OrgID: at most 150 characters of
// [A-Za-z0-9] and ! - _ . * ' ( ), and not "." or "..". Anything else would be
// refused on every push, or (a newline) could not be sent as a header at all,
// so it is refused where it is written: `tenant_id` in the config, or
// `__tenant_id__` from discovery and relabeling.

export const MAX_TENANT_ID_LENGTH = 150;

const TENANT_CHAR = /^[A-Za-z0-9!\-_.*'()]$/;

/** Why `id` cannot be a tenant ID, or null when it can. The empty string means "no tenant" and is fine. */
export function tenantIdProblem(id: string): string | null {
  for (const c of id) {
    if (!TENANT_CHAR.test(c)) {
      const shown = /[\u0000-\u001f\u007f-\u009f]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c;
      return `tenant ID ${JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id)} has the character "${shown}": a tenant ID takes letters, digits and ! - _ . * ' ( ) only`;
    }
  }
  if (id.length > MAX_TENANT_ID_LENGTH) return `tenant ID is ${id.length} characters long; at most ${MAX_TENANT_ID_LENGTH}`;
  if (id === '.' || id === '..') return `tenant ID must not be "${id}"`;
  return null;
}
