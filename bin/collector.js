#!/usr/bin/env node
// The `collector` command. The TypeScript sources run through tsx's loader,
// so there is no build step and no generated code to keep in sync.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
// Everything is flushed and closed by now (logs are written synchronously);
// exit rather than wait for idle keep-alive sockets to time out.
process.exit(code);
