#!/usr/bin/env node
// The `collector` command. It runs the compiled JavaScript in dist/, which
// `npm run build` writes (npm install and npm ci run it through `prepare`):
// no TypeScript and no loader at run time. The tests and bench scripts run
// the sources in src/ through tsx instead.
import { existsSync } from 'node:fs';

const dist = (path) => new URL(`../dist/${path}`, import.meta.url);
if (!existsSync(dist('cli.js'))) {
  process.stderr.write('collector: dist/ is missing: run `npm run build` (or `npm install`) in the package first\n');
  process.exit(1);
}
const argv = process.argv.slice(2);
// A bare --version answers without loading the collector and its dependencies
// (what cli.ts prints for it too; test/cli/compiled.test.ts compares the two).
if (argv.length === 1 && argv[0] === '--version') {
  const { VERSION } = await import(dist('core/version.js').href);
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}
const { main } = await import(dist('cli.js').href);
const code = await main(argv);
// Everything is flushed and closed by now (main awaits the log lines);
// exit rather than wait for idle keep-alive sockets to time out.
process.exit(code);
