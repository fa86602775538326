// Relabel worker bootstrap: the TypeScript sources run through tsx's loader,
// which each thread registers for itself (as the profile workers do).
import { register } from 'tsx/esm/api';

register();
await import('./relabel-worker.ts');
