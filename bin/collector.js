#!/usr/bin/env node
// The `collector` command. It runs the compiled JavaScript in dist/, which
// `npm run build` writes (npm install and npm ci run it through `prepare`):
// no TypeScript and no loader at run time. The tests and bench scripts run
// the sources in src/ through tsx instead.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('collector: dist/ is missing: run `npm run build` (or `npm install`) in the package first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2));
// Everything is flushed and closed by now (logs are written synchronously);
// exit rather than wait for idle keep-alive sockets to time out.
process.exit(code);
