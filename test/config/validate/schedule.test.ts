// [inputs.profile.go.schedule] and schedule_spread: what loads, and every
// refusal as FILE:LINE: key.path: what is wrong and what is allowed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { doc, issuesOfText, loadText } from '../../helpers/config-text.js';

const FILE = 'conf.d/test.conf';
const load = (source: string, env: Record<string, string> = {}) => loadText(source, FILE, env);
const problems = (source: string) => issuesOfText(source, FILE);

/** A block (line 1) with `extra` from line 2 on. */
const block = (...extra: string[]) => doc('[[inputs.profile.go]]', 'url = "http://127.0.0.1:6060"', ...extra);

const HELP = 'write six fields, second minute hour day-of-month month day-of-week, like "0 */5 * * * *"';

describe('[inputs.profile.go.schedule]', () => {
  test('maps types to patterns with the shortest gap between runs; schedule_spread defaults to 1m', () => {
    const c = load(block('[inputs.profile.go.schedule]', 'goroutine = "0 */5 * * * *"', 'heap = "*/30 * * * * *"'));
    const t = c.targets[0]!;
    assert.deepEqual(t.schedule, { goroutine: { pattern: '0 */5 * * * *', minGapMs: 300_000 }, heap: { pattern: '*/30 * * * * *', minGapMs: 30_000 } });
    assert.equal(t.scheduleSpreadMs, 60_000);
    assert.equal(t.intervalMs, 10_000, 'the other types keep interval');
    const plain = load(block()).targets[0]!;
    assert.equal(plain.schedule, undefined);
    assert.equal(plain.scheduleSpreadMs, undefined);
  });

  test('schedule_spread is read; ${VAR} works in a pattern; alone it is a notice', () => {
    const c = load(block('schedule_spread = "15s"', '[inputs.profile.go.schedule]', 'mutex = "${EVERY}"'), { EVERY: '0 0 * * * *' });
    assert.equal(c.targets[0]!.scheduleSpreadMs, 15_000);
    assert.equal(c.targets[0]!.schedule?.mutex?.pattern, '0 0 * * * *');
    const n = load(block('schedule_spread = "15s"'));
    assert.deepEqual(n.notices.filter((x) => x.path.includes('schedule')).map((x) => `${x.line}: ${x.path}: ${x.message}`), ['3: inputs.profile.go.schedule_spread: has no effect without [inputs.profile.go.schedule]']);
  });

  test('a cpu schedule bounds profile_duration instead of interval', () => {
    const c = load(block('interval = "10s"', 'profile_duration = "30s"', '[inputs.profile.go.schedule]', 'cpu = "0 */5 * * * *"'));
    assert.equal(c.targets[0]!.profileDurationMs, 30_000);
    assert.deepEqual(
      problems(block('interval = "1m"', 'profile_duration = "20s"', '[inputs.profile.go.schedule]', 'cpu = "*/15 * * * * *"')),
      [
        `${FILE}:6: inputs.profile.go.schedule.cpu: "*/15 * * * * *" runs 15s apart at its closest, and the cpu window (profile_duration 20s) must end before the next run: set profile_duration below 15s, or space the runs further apart`,
      ],
    );
    // Without a cpu schedule the interval rule stands.
    assert.match(problems(block('interval = "10s"', 'profile_duration = "30s"', '[inputs.profile.go.schedule]', 'heap = "0 */5 * * * *"'))[0]!, /profile_duration: must be shorter than interval/);
  });

  test('every bad entry is reported at once, at its line, with what is allowed', () => {
    const got = problems(
      block(
        'enabled_types = ["cpu", "heap", "goroutine"]', // 3
        '[inputs.profile.go.schedule]', //                 4
        'goroutin = "0 */5 * * * *"', //                   5
        'mutex = "0 */5 * * * *"', //                      6
        'heap = 300', //                                   7
        'cpu = "*/5 * * * *"', //                          8
      ),
    );
    assert.deepEqual(got, [
      `${FILE}:5: inputs.profile.go.schedule.goroutin: unknown profile type "goroutin" (did you mean "goroutine"?); allowed: cpu, heap, goroutine, mutex, block, allocs, threadcreate`,
      `${FILE}:6: inputs.profile.go.schedule.mutex: "mutex" is not in enabled_types (cpu, heap, goroutine): a schedule is for a type this block scrapes`,
      `${FILE}:7: inputs.profile.go.schedule.heap: must be a cron pattern string like "0 */5 * * * *", got an integer`,
      `${FILE}:8: inputs.profile.go.schedule.cpu: "*/5 * * * *" is not a cron pattern with seconds (5 field(s), not six); ${HELP} (every 5 minutes at second 0); a field takes a number, *, a range 1-5, a step */10 or 0-30/10, a list 1,15, names JAN-DEC and SUN-SAT, and L, W, # in the day fields`,
    ]);
  });

  test('a value croner refuses, a pattern that never runs, runs closer than 10s, a nickname, not a table', () => {
    const one = (pattern: string) => problems(block('[inputs.profile.go.schedule]', `heap = "${pattern}"`));
    assert.match(one('0 61 * * * *')[0]!, /^conf\.d\/test\.conf:4: inputs\.profile\.go\.schedule\.heap: "0 61 \* \* \* \*" is not a cron pattern with seconds \(Invalid value for minute: 61\); write six fields/);
    assert.match(one('0 0 0 31 2 *')[0]!, /schedule\.heap: "0 0 0 31 2 \*" never runs \(no date matches it\); write six fields/);
    assert.deepEqual(one('0,5 * * * * *'), [
      `${FILE}:4: inputs.profile.go.schedule.heap: "0,5 * * * * *" runs 5s apart at its closest: runs must be at least 10s apart, like interval (shorter profiles the service too often)`,
    ]);
    assert.match(one('@hourly')[0]!, /\(a nickname like @hourly has no seconds field\); write six fields/);
    assert.deepEqual(problems(block('schedule = "0 * * * * *"')), [
      `${FILE}:3: inputs.profile.go.schedule: must be a table of type = "cron pattern" lines like [inputs.profile.go.schedule] goroutine = "0 */5 * * * *", got a string`,
    ]);
    assert.match(problems(block('schedule_spread = 5', '[inputs.profile.go.schedule]', 'heap = "0 * * * * *"'))[0]!, /:3: inputs\.profile\.go\.schedule_spread: must be a Go duration string/);
  });

  test('a discovery template takes a schedule for every target it finds', () => {
    const c = load(doc('[[inputs.profile.go]]', '[inputs.profile.go.file_sd]', 'files = ["/tmp/none.json"]', '[inputs.profile.go.schedule]', 'block = "0 0 * * * *"'));
    assert.deepEqual(c.templates[0]!.schedule, { block: { pattern: '0 0 * * * *', minGapMs: 3_600_000 } });
  });
});
