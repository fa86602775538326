// Worker bootstrap: the TypeScript sources run through tsx's loader, which
// each thread registers for itself (resolved from this package, not the cwd).
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
