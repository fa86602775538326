// npm run demo [-- --seconds N]
//
// The first run on a fresh machine: starts a local demo target on the address
// conf.d/profile.conf points at (the Go fixture when it builds, otherwise a
// server replaying recorded profiles of it), runs the real
// `collector -c conf.d/profile.conf` against it for a while, then says where
// the profiles landed and how to open one.

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGoTarget, goAvailable, GoBuildError, startGoTarget } from '../fixtures/go-target/harness.js';
import { loadConfigFile } from '../src/config/index.js';
import { startReplayTarget } from './replay-target.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const CONFIG = 'conf.d/profile.conf';
const say = (s: string) => process.stdout.write(`demo: ${s}\n`);

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

function listFiles(dir: string, since: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (p.endsWith('.pprof') && st.mtimeMs >= since) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** One pino JSON line as a short human line; debug lines only for scrape results. */
function humanLog(line: string): string | null {
  try {
    const o = JSON.parse(line) as { level?: string; msg?: string; type?: string; result?: string; samples?: number; bytes?: number };
    if (!o.msg) return null;
    if (o.level === 'debug' || o.level === 'trace') {
      if (!o.result) return null;
      const what = o.result === 'baseline' ? 'baseline taken (the first scrape of a cumulative type is not shipped)' : `${o.result}: ${o.samples} samples, ${o.bytes} bytes scraped`;
      return `  [collector] ${o.type} ${what}`;
    }
    return `  [collector] ${o.level ?? ''} ${o.msg}`;
  } catch {
    return line.trim() ? `  [collector] ${line}` : null;
  }
}

/** null when the Go fixture is built (or was already); otherwise why not, in one line. */
function goFixtureUnavailable(): string | null {
  if (!goAvailable()) return 'Go is not installed';
  say('building the Go fixture (fixtures/go-target) ...');
  try {
    buildGoTarget();
    return null;
  } catch (err) {
    return err instanceof GoBuildError ? err.reason : `the Go fixture did not build (${(err as Error).message.split('\n')[0]})`;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '35' } } });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 12) {
    say('--seconds must be at least 12 (two scrapes are needed before the first delta)');
    return 2;
  }
  process.chdir(ROOT);
  const config = await loadConfigFile(CONFIG);
  const target = config.targets[0];
  if (!target) throw new Error(`${CONFIG} has no target`);
  const u = new URL(target.baseUrl);
  const host = u.hostname;
  const port = Number(u.port || 80);
  if (!(await portFree(host, port))) {
    say(`${host}:${port} is already in use. Stop what runs there, or point ${CONFIG} at your own Go service and run: npx collector -c ${CONFIG}`);
    return 1;
  }

  let stopTarget: () => Promise<void>;
  const noFixture = goFixtureUnavailable();
  if (noFixture === null) {
    say(`starting the Go fixture (fixtures/go-target) on ${host}:${port} ...`);
    const t = await startGoTarget({ addr: `${host}:${port}` });
    stopTarget = () => t.stop();
  } else {
    say(`${noFixture}; serving recorded profiles of the Go fixture (fixtures/profiles) on ${host}:${port} instead`);
    const t = await startReplayTarget(host, port);
    stopTarget = () => t.close();
  }

  const started = Date.now() - 1000;
  say(`running: collector -c ${CONFIG}   for ${seconds}s (Ctrl-C stops early)`);
  const child = spawn(process.execPath, ['bin/collector.js', '-c', CONFIG, '--log-level', 'debug'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const h = humanLog(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (h) process.stdout.write(`${h}\n`);
    }
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  const timer = setTimeout(stop, seconds * 1000);
  const code = await exited;
  clearTimeout(timer);
  process.off('SIGINT', stop);
  await stopTarget();

  const fileOut = config.outputs.find((o) => o.kind === 'file');
  const dir = fileOut && fileOut.kind === 'file' ? fileOut.dir : join(config.agent.dataDir, 'profiles');
  const files = listFiles(dir, started);
  const byType = new Map<string, string[]>();
  for (const f of files) {
    const type = /_(cpu|heap|goroutine|mutex|block)_[0-9a-f]+\.pprof$/.exec(f)?.[1] ?? 'other';
    byType.set(type, [...(byType.get(type) ?? []), f]);
  }
  process.stdout.write('\n');
  if (files.length === 0) {
    say(`no profiles were written (collector exit code ${code}); see the log lines above`);
    return 1;
  }
  say(`${files.length} profiles written under ${relative(ROOT, resolve(dir)) || dir}/ (a JSON file with type, window and tags sits beside each):`);
  for (const [type, fs] of byType) say(`  ${type.padEnd(9)} ${String(fs.length).padStart(2)}  e.g. ${relative(ROOT, fs[fs.length - 1]!)}`);
  const heap = byType.get('heap')?.at(-1) ?? files[files.length - 1]!;
  process.stdout.write('\n');
  say('open one with Go\'s pprof:');
  say(`  go tool pprof -top ${relative(ROOT, heap)}`);
  say(`  go tool pprof -http=127.0.0.1:8080 ${relative(ROOT, byType.get('cpu')?.at(-1) ?? heap)}`);
  if (goAvailable()) {
    const top = spawnSync('go', ['tool', 'pprof', '-top', '-sample_index=alloc_space', heap], { encoding: 'utf8' });
    if (top.status === 0) process.stdout.write(`\n${top.stdout.split('\n').slice(0, 12).join('\n')}\n\n`);
  }
  say(`to run it for real: edit the url in ${CONFIG} to point at your Go service, then: npx collector -c ${CONFIG}`);
  return code === 0 ? 0 : 1;
}

process.exitCode = await main();
