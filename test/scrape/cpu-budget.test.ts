// cpu_budget (src/scrape/cpu-budget.ts) on a FakeClock: replicas of a
// service ask for CPU windows on their own schedules; the budget grants at
// most BUDGET of windows per PERIOD per service, to the replica that has
// waited longest. Also the config side (through parseConfig), and the
// collector's use of it: which targets count as replicas.
//
//   node --import tsx --test test/scrape/cpu-budget.test.ts

import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { Collector } from '../../src/collector.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import type { CpuBudgetConfig } from '../../src/config/types.js';
import type { DiscoveryProvider, TargetGroup } from '../../src/discovery/types.js';
import type { CollectOutcome } from '../../src/server/health.js';
import { silentLogger } from '../../src/core/log.js';
import { CpuBudgets, type BudgetDecision } from '../../src/scrape/cpu-budget.js';
import { fakePprofServers, rigConfig, stepSeconds } from '../helpers/collector-rig.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { FakePprofServer } from '../helpers/fake-pprof.js';
import { cleanupAfterEach, sleep } from '../helpers/processes.js';

const MIN = 60_000;
/** A FakeClock start on a minute boundary, so budget periods are minutes [k, k+1). */
const T0 = Math.ceil(1_700_000_000_000 / MIN) * MIN;

const cleanup = cleanupAfterEach();

interface Ask {
  readonly at: number;
  readonly service: string;
  readonly replica: string;
  readonly decision: BudgetDecision;
}

/**
 * Replicas that each ask every `everyMs` (at their own offset) for a
 * window of `windowMs`, for `forMs`, all on one FakeClock.
 */
async function simulate(o: {
  services: Record<string, { replicas: string[]; budget: CpuBudgetConfig; offsetMs?: (i: number) => number }>;
  windowMs: number;
  everyMs: number;
  forMs: number;
  /** Replicas of a service that are listed but never ask. */
  idle?: Record<string, string[]>;
}): Promise<Ask[]> {
  const clock = new FakeClock(T0);
  const budgets = new CpuBudgets(clock);
  const asks: Ask[] = [];
  const end = T0 + o.forMs;
  for (const [service, s] of Object.entries(o.services)) {
    const listed = [...s.replicas, ...(o.idle?.[service] ?? [])];
    s.replicas.forEach((replica, i) => {
      const ask = () => {
        if (clock.now() >= end) return;
        asks.push({ at: clock.now(), service, replica, decision: budgets.tryTake(service, replica, s.budget, o.windowMs, listed) });
        clock.setTimer(ask, o.everyMs);
      };
      clock.setTimer(ask, s.offsetMs ? s.offsetMs(i) : 500 + i * 1_700);
    });
  }
  await clock.advance(o.forMs + o.everyMs);
  return asks;
}

const grants = (asks: readonly Ask[], service?: string) => asks.filter((a) => a.decision.ok && (service === undefined || a.service === service));
const periodOf = (at: number, periodMs: number) => Math.floor((at - T0) / periodMs);

function perPeriod(asks: readonly Ask[], periodMs: number, periods: number): number[] {
  const n = new Array<number>(periods).fill(0);
  for (const a of asks) n[periodOf(a.at, periodMs)]!++;
  return n;
}

/** Each grant went to a replica whose last grant was no later than any other replica's (never = oldest). */
function assertLongestWaiterGranted(asks: readonly Ask[], replicas: readonly string[]): void {
  const last = new Map<string, number>();
  for (const g of asks.filter((a) => a.decision.ok)) {
    const mine = last.get(g.replica) ?? -Infinity;
    for (const other of replicas) {
      if (other === g.replica) continue;
      const theirs = last.get(other) ?? -Infinity;
      assert.ok(
        !(theirs < mine),
        `at +${(g.at - T0) / 1000}s ${g.replica} (last granted +${(mine - T0) / 1000}s) got the window while ${other} had waited longer (last granted ${theirs === -Infinity ? 'never' : `+${(theirs - T0) / 1000}s`})`,
      );
    }
    last.set(g.replica, g.at);
  }
}

describe('CpuBudgets', () => {
  const REPLICAS = ['r0', 'r1', 'r2', 'r3', 'r4'];
  const BUDGET = { budgetMs: 10_000, periodMs: MIN };

  it('"10s/1m", 9 s windows, 5 replicas asking every 10 s for 10 min: one grant a minute, in turn', async () => {
    const asks = await simulate({ services: { api: { replicas: REPLICAS, budget: BUDGET } }, windowMs: 9_000, everyMs: 10_000, forMs: 10 * MIN });
    assert.equal(asks.length, 5 * 60, 'every replica asked every 10 s');
    const g = grants(asks);
    assert.deepEqual(perPeriod(g, MIN, 10), new Array(10).fill(1), 'grants per minute');

    // Round-robin: every 5 consecutive grants go to 5 different replicas.
    const order = g.map((a) => a.replica);
    for (let i = 0; i + 5 <= order.length; i++) {
      assert.deepEqual(new Set(order.slice(i, i + 5)).size, 5, `grants ${i}..${i + 4}: ${order.slice(i, i + 5).join(', ')} (all: ${order.join(', ')})`);
    }
    // Hence every replica had a turn within 5 periods, twice in 10.
    for (const r of REPLICAS) assert.equal(order.filter((x) => x === r).length, 2, `${r}: ${order.join(', ')}`);
    for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1], 'no replica gets two grants in a row');
    assertLongestWaiterGranted(asks, REPLICAS);

    // Refusals say why: before the period's grant, it is another replica's
    // turn; after it, the budget is spent.
    for (const a of asks.filter((x) => !x.decision.ok)) {
      const p = periodOf(a.at, MIN);
      const grantAt = g.find((x) => periodOf(x.at, MIN) === p)!.at;
      const why = (a.decision as { why: string }).why;
      assert.equal(why, a.at < grantAt ? 'turn' : 'spent', `${a.replica} at +${(a.at - T0) / 1000}s`);
    }
  });

  it('the first asker of a period is refused when it was served last time and others wait', async () => {
    // Everyone asks at the same offsets; r0 always asks first.
    const asks = await simulate({
      services: { api: { replicas: REPLICAS, budget: BUDGET, offsetMs: (i) => 1_000 + i * 100 } },
      windowMs: 9_000,
      everyMs: 10_000,
      forMs: 10 * MIN,
    });
    const order = grants(asks).map((a) => a.replica);
    assert.deepEqual(order, [...REPLICAS, ...REPLICAS], 'r0 does not take every minute just because it asks first');
    const r0second = asks.find((a) => a.replica === 'r0' && periodOf(a.at, MIN) === 1)!;
    assert.deepEqual(r0second.decision, { ok: false, why: 'turn' });
    assertLongestWaiterGranted(asks, REPLICAS);
  });

  it('two services have independent budgets', async () => {
    const asks = await simulate({
      services: {
        api: { replicas: REPLICAS, budget: BUDGET },
        // Same replica ids on purpose: the service is part of the key.
        worker: { replicas: ['r0', 'r1', 'r2'], budget: { budgetMs: 20_000, periodMs: 2 * MIN }, offsetMs: (i) => 300 + i * 2_900 },
      },
      windowMs: 9_000,
      everyMs: 10_000,
      forMs: 10 * MIN,
    });
    assert.deepEqual(perPeriod(grants(asks, 'api'), MIN, 10), new Array(10).fill(1), 'api: one a minute');
    // worker: 20 s per 2 min fits two 9 s windows per period.
    assert.deepEqual(perPeriod(grants(asks, 'worker'), 2 * MIN, 5), new Array(5).fill(2), 'worker: two per 2 min');
    assertLongestWaiterGranted(asks.filter((a) => a.service === 'api'), REPLICAS);
    assertLongestWaiterGranted(asks.filter((a) => a.service === 'worker'), ['r0', 'r1', 'r2']);
    const worker = grants(asks, 'worker').map((a) => a.replica);
    for (let i = 0; i + 3 <= worker.length; i++) assert.equal(new Set(worker.slice(i, i + 3)).size, 3, worker.join(', '));
  });

  it('a budget of several windows a period: that many grants, never more', async () => {
    const asks = await simulate({ services: { api: { replicas: REPLICAS, budget: { budgetMs: 30_000, periodMs: MIN } } }, windowMs: 9_000, everyMs: 10_000, forMs: 5 * MIN });
    assert.deepEqual(perPeriod(grants(asks), MIN, 5), [3, 3, 3, 3, 3]);
    assertLongestWaiterGranted(asks, REPLICAS);
  });

  it('a single replica gets one window per period; a replica that appears later gets the next turn', async () => {
    const clock = new FakeClock(T0);
    const b = new CpuBudgets(clock);
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a']), { ok: true });
    await clock.advance(10_000);
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a']), { ok: false, why: 'spent' });
    await clock.advance(50_000);
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a']), { ok: true }, 'a new period');
    await clock.advance(MIN);
    // b is new: it has waited "forever", so a must let it go first.
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a', 'b']), { ok: false, why: 'turn' });
    assert.deepEqual(b.tryTake('s', 'b', BUDGET, 9_000, ['a', 'b']), { ok: true });
    await clock.advance(MIN);
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a', 'b']), { ok: true });
    // Once b is gone from the list, a no longer waits for it.
    await clock.advance(MIN);
    assert.deepEqual(b.tryTake('s', 'a', BUDGET, 9_000, ['a']), { ok: true });
  });
});

describe('cpu_budget in the config', () => {
  const conf = (budget: string, extra = '') =>
    ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "api"', 'interval = "10s"', 'profile_duration = "9s"', extra, `cpu_budget = ${JSON.stringify(budget)}`, ''].join('\n');
  const parse = (text: string) => parseConfig(text, 'budget.conf', { env: {}, osHostname: 'host' });
  const issues = (text: string): string[] => {
    try {
      parse(text);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message.split('\n');
    }
    assert.fail('the config was accepted');
  };

  test('"10s/1m" parses to milliseconds', () => {
    assert.deepEqual(parse(conf('10s/1m')).targets[0]!.cpuBudget, { budgetMs: 10_000, periodMs: 60_000 });
    assert.deepEqual(parse(conf('9s/30s')).targets[0]!.cpuBudget, { budgetMs: 9_000, periodMs: 30_000 });
    assert.equal(parse(conf('10s/1m').replace(/^cpu_budget.*$/m, '')).targets[0]!.cpuBudget, undefined);
  });

  test('a budget shorter than one CPU window is an error at its line', () => {
    assert.deepEqual(issues(conf('5s/1m')), [
      'budget.conf:7: inputs.profile.go.cpu_budget: the budget (5s) is shorter than one CPU window (profile_duration 9s): no profile would ever fit',
    ]);
    // With the default profile_duration (interval 30s -> 10s window) too.
    const dflt = ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'interval = "30s"', 'cpu_budget = "9s/1m"', ''].join('\n');
    assert.match(issues(dflt).join('\n'), /^budget\.conf:4: inputs\.profile\.go\.cpu_budget: the budget \(9s\) is shorter than one CPU window \(profile_duration 10s\)/);
  });

  test('malformed budgets are errors with FILE:LINE: key', () => {
    for (const bad of ['10s', '10s/1m/1h', '10/60', 'ten/1m', '', '/1m']) {
      assert.match(issues(conf(bad)).join('\n'), /^budget\.conf:7: inputs\.profile\.go\.cpu_budget: must be "BUDGET\/PERIOD" with Go durations/, bad);
    }
    for (const bad of ['2m/1m', '0s/1m', '10s/0s']) {
      assert.match(issues(conf(bad)).join('\n'), /^budget\.conf:7: inputs\.profile\.go\.cpu_budget: needs 0 < BUDGET <= PERIOD/, bad);
    }
    assert.match(issues(conf('10s/1m').replace('cpu_budget = "10s/1m"', 'cpu_budget = 10')).join('\n'), /^budget\.conf:7: inputs\.profile\.go\.cpu_budget: must be a string/);
  });
});

// The collector: discovered replicas of one service share the budget. Fake
// pprof servers on loopback answer CPU requests at once (time is a
// FakeClock); the test counts their CPU requests per budget period.
describe('cpu_budget in the collector', () => {
  it('discovered replicas share one budget per service; a replica without cpu in its types does not hold the others\' turn', async () => {
    const clock = new FakeClock(T0);
    const servers = await fakePprofServers(4, clock, cleanup);
    const config = rigConfig(cleanup.tempDir('cpu-budget-collector-'), [
      '[[inputs.profile.go]]',
      'service = "api"',
      'interval = "10s"',
      'profile_duration = "9s"',
      'cpu_budget = "10s/30s"',
      'enabled_types = ["cpu", "goroutine"]',
      '[inputs.profile.go.file_sd]',
      'files = ["/not/read/by/this/test.json"]',
    ]);
    // Three replicas scrape cpu; the fourth is listed for goroutine only.
    const groups: TargetGroup[] = [
      { targets: servers.slice(0, 3).map((s) => `127.0.0.1:${s.port}`), labels: {} },
      { targets: [`127.0.0.1:${servers[3]!.port}`], labels: { __types__: 'goroutine' } },
      // A duplicate of the first replica (same host:port): collapses.
      { targets: [`127.0.0.1:${servers[0]!.port}`], labels: { zone: 'b' } },
    ];
    const provider: DiscoveryProvider = { description: 'fake_sd', start: (update) => update(groups), stop: async () => undefined };
    const outcomes: Array<{ o: CollectOutcome; port: string }> = [];
    const collector = new Collector(config, {
      clock,
      logger: silentLogger(),
      providers: () => provider,
      onOutcome: (o, t) => outcomes.push({ o, port: new URL(t.baseUrl).port }),
    });
    await collector.start();
    cleanup.add(() => collector.stop(0));
    assert.equal(collector.currentTargets.length, 4, `targets: ${collector.currentTargets.map((t) => t.baseUrl).join(', ')}`);

    // 4 minutes, a second at a time; each step lets the (real) HTTP of the due scrapes finish.
    const MINUTES = 4;
    await stepSeconds(clock, MINUTES * 60);
    await sleep(100);

    const periods = MINUTES * 2;
    const cpuOf = (s: FakePprofServer) => s.requests.filter((r) => r.path === '/debug/pprof/profile');
    const per = new Array<number>(periods).fill(0);
    for (const s of servers) for (const r of cpuOf(s)) per[periodOf(r.at, 30_000)]!++;
    const byReplica = servers.map((s) => cpuOf(s).length);
    assert.equal(byReplica[3], 0, 'the goroutine-only replica is never asked for a CPU profile');
    assert.ok(servers[3]!.count('goroutine') >= MINUTES * 6 - 1, `the goroutine-only replica is scraped (${servers[3]!.count('goroutine')})`);
    assert.deepEqual(per, new Array(periods).fill(1), `CPU profiles per 30 s period, all replicas together (per replica: ${byReplica.join(', ')})`);
    for (let i = 0; i < 3; i++) assert.ok(byReplica[i]! >= 2, `replica ${i} got ${byReplica[i]} CPU windows in ${periods} periods (per replica: ${byReplica.join(', ')})`);
    const skipped = outcomes.filter((x) => x.o.result === 'skipped');
    assert.ok(skipped.length > 0, 'the other asks were skipped, not failed');
    assert.deepEqual(outcomes.filter((x) => x.o.result === 'failed').map((x) => `${x.port}: ${x.o.error?.message}`), []);
  });
});

describe('<type>_budget in the config', () => {
  const parse = (text: string) => parseConfig(text, 'budget.conf', { env: {}, osHostname: 'host' });
  const conf = (line: string, types = '') =>
    ['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'service = "api"', types, line, ''].join('\n');
  const issues = (text: string): string => {
    try {
      parse(text);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message;
    }
    assert.fail('the config was accepted');
  };

  test('"N/PERIOD" for goroutine, heap, mutex and block: at most N scrapes per period', () => {
    assert.deepEqual(parse(conf('heap_budget = "2/1m"')).targets[0]!.scrapeBudgets, { heap: { scrapes: 2, periodMs: 60_000 } });
    const all = parse(['[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', 'goroutine_budget = "1/30s"', 'mutex_budget = "3/5m"', 'block_budget = " 4 / 1h "', ''].join('\n'));
    assert.deepEqual(all.targets[0]!.scrapeBudgets, { goroutine: { scrapes: 1, periodMs: 30_000 }, mutex: { scrapes: 3, periodMs: 300_000 }, block: { scrapes: 4, periodMs: 3_600_000 } });
    assert.equal(parse(conf('')).targets[0]!.scrapeBudgets, undefined, 'no budget: every interval');
  });

  test('malformed, zero, or for a type that is not scraped: an error at its line', () => {
    for (const bad of ['2', '2/', '0/1m', '-1/1m', 'two/1m', '2/1x', '2/0s']) {
      assert.match(issues(conf(`heap_budget = "${bad}"`)), /^budget\.conf:5: inputs\.profile\.go\.heap_budget: must be "N\/PERIOD": at most N heap scrapes per service per PERIOD/m, bad);
    }
    assert.match(issues(conf('mutex_budget = "1/1m"', 'enabled_types = ["cpu", "heap"]')), /^budget\.conf:5: inputs\.profile\.go\.mutex_budget: mutex is not in enabled_types, so there is nothing to budget/m);
    assert.match(issues(conf('cpu_budgett = "1/1m"')), /cpu_budgett/, 'an unknown key is still reported');
  });
});

describe('<type>_budget in the collector', () => {
  it('goroutine_budget = "1/30s": replicas take turns, one goroutine scrape per 30 s for the whole service; cpu keeps its interval', async () => {
    const clock = new FakeClock(T0);
    const servers = await fakePprofServers(3, clock, cleanup);
    const config = rigConfig(cleanup.tempDir('type-budget-collector-'), [
      '[[inputs.profile.go]]',
      'service = "api"',
      'interval = "10s"',
      'profile_duration = "1s"',
      'goroutine_budget = "1/30s"',
      'enabled_types = ["cpu", "goroutine"]',
      '[inputs.profile.go.file_sd]',
      'files = ["/not/read/by/this/test.json"]',
    ]);
    const groups: TargetGroup[] = [{ targets: servers.map((s) => `127.0.0.1:${s.port}`), labels: {} }];
    const provider: DiscoveryProvider = { description: 'fake_sd', start: (update) => update(groups), stop: async () => undefined };
    const outcomes: CollectOutcome[] = [];
    const collector = new Collector(config, { clock, logger: silentLogger(), providers: () => provider, onOutcome: (o) => outcomes.push(o) });
    await collector.start();
    cleanup.add(() => collector.stop(0));

    const MINUTES = 3;
    await stepSeconds(clock, MINUTES * 60);
    await sleep(100);

    const periods = MINUTES * 2;
    const per = new Array<number>(periods).fill(0);
    for (const s of servers) for (const r of s.requests.filter((x) => x.path === '/debug/pprof/goroutine')) per[periodOf(r.at, 30_000)]!++;
    const byReplica = servers.map((s) => s.count('goroutine'));
    assert.deepEqual(per, new Array(periods).fill(1), `goroutine scrapes per 30 s period, all replicas together (per replica: ${byReplica.join(', ')})`);
    for (const [i, n] of byReplica.entries()) assert.ok(n >= 2, `replica ${i} had its turns (per replica: ${byReplica.join(', ')})`);
    // cpu has no budget here: every replica every interval (the first slot may fall in the first interval or not).
    for (const s of servers) assert.ok(s.count('profile') >= MINUTES * 6 - 1, `cpu keeps its interval: ${s.count('profile')}`);
    assert.deepEqual(outcomes.filter((o) => o.result === 'failed').map((o) => o.error?.message), []);
  });
});
