// Starts a worker thread on a module of the collector, from either form of the
// code. The collector runs compiled (`npm run build` writes dist/): there the
// spawning module is a .js file and the thread runs the compiled module beside
// it, with no loader at all. Tests and bench scripts run the TypeScript sources
// through tsx (`node --import tsx`): there the spawner is a .ts file, the .js
// file named does not exist, and the thread first registers tsx itself (a
// thread does not inherit a loader registered by code), then loads the .ts
// source. tsx is a devDependency: it is only looked for on that path.

import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running `module`, written as the compiled name (`./x.js`)
 * relative to `spawner` (the spawning module's import.meta.url).
 */
export function startThread(spawner: string, module: string, options: WorkerOptions = {}): Worker {
  const compiled = new URL(module, spawner);
  if (!runsFromSources(spawner)) return new Worker(compiled, options);
  const source = new URL(compiled.href.replace(/\.js$/, '.ts'));
  // Resolved here, from this package, not from the thread (whose bare imports
  // would resolve from the working directory).
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** True when `moduleUrl` is a TypeScript source (run through tsx), false when compiled. */
export function runsFromSources(moduleUrl: string): boolean {
  return new URL(moduleUrl).pathname.endsWith('.ts');
}
