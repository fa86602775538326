import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Line, Profile } from 'pprof-format';
import { InvalidProfileError } from '../../src/profile/errors.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import { sampleTypeIndexes, validateProfile } from '../helpers/reference/validate.js';
import { decode, fixture, FIXTURE_DIR } from '../helpers/pprof-model.js';
import { buildHeap, type Entry } from '../helpers/synthetic.js';
import { testTarget } from '../helpers/targets.js';

const entries: Entry[] = [
  { stack: [0, 2], bytes: 16, values: [1n, 16n, 1n, 16n] },
  { stack: [3, 5], tag: 'a', values: [2n, 64n, 0n, 0n] },
];

/** A fresh, valid, decoded profile to break in one place. */
function good(): Profile {
  return Profile.decode(buildHeap(entries, { timeNanos: 1_700_000_000_000_000_000n, locIds: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20] }).encode());
}

function rejects(p: Profile, message: RegExp): void {
  assert.throws(
    () => validateProfile(p),
    (err: unknown) => {
      assert.ok(err instanceof InvalidProfileError, String(err));
      assert.match((err as Error).message, message);
      return true;
    },
  );
}

describe('validateProfile', () => {
  it('accepts the unbroken synthetic profile', () => {
    validateProfile(good());
  });

  it('rejects a sample pointing at a missing location', () => {
    const p = good();
    p.sample[1]!.locationId = [14, 999];
    rejects(p, /^invalid pprof: a sample refers to missing location 999$/);
  });

  it('rejects a location pointing at a missing function', () => {
    const p = good();
    p.location[3]!.line.push(new Line({ functionId: 777, line: 1 }));
    rejects(p, /^invalid pprof: location 14 refers to missing function 777$/);
  });

  it('rejects a location pointing at a missing mapping', () => {
    const p = good();
    p.location[0]!.mappingId = 42;
    rejects(p, /^invalid pprof: location 11 refers to missing mapping 42$/);
  });

  it('rejects string indexes past the table, wherever they are', () => {
    const n = good().stringTable.strings.length;
    const cases: [string, (p: Profile) => void, RegExp][] = [
      ['function name', (p) => (p.function[0]!.name = n), /a function name points at string/],
      ['function file', (p) => (p.function[2]!.filename = n + 10), /a function file name points at string/],
      ['sample type', (p) => (p.sampleType[3]!.unit = n), /a sample unit points at string/],
      ['label key', (p) => (p.sample[0]!.label[0]!.key = n), /a label key points at string/],
      ['label value', (p) => (p.sample[1]!.label[0]!.str = n), /a label value points at string/],
      ['mapping file', (p) => (p.mapping[0]!.filename = n), /a mapping file name points at string/],
      ['comment', (p) => (p.comment = [n]), /a comment points at string/],
      ['default sample type', (p) => (p.defaultSampleType = n), /default_sample_type points at string/],
    ];
    for (const [what, mutate, message] of cases) {
      const p = good();
      mutate(p);
      assert.throws(() => validateProfile(p), InvalidProfileError, what);
      rejects(p, message);
      rejects(p, new RegExp(`past the table of ${n}$`));
    }
    // The last valid index is fine.
    const p = good();
    p.function[0]!.name = n - 1;
    validateProfile(p);
  });

  it('rejects a sample whose value count differs from the sample type count', () => {
    const p = good();
    p.sample[0]!.value = [1, 2, 3];
    rejects(p, /^invalid pprof: a sample has 3 values for 4 sample types$/);
    const q = good();
    q.sample[1]!.value = [1, 2, 3, 4, 5];
    rejects(q, /a sample has 5 values for 4 sample types/);
  });

  it('rejects string_table[0] other than "" and ids of 0', () => {
    const p = good();
    p.stringTable.strings[0] = 'x';
    rejects(p, /string_table\[0\] must be the empty string/);
    const q = good();
    q.location[2]!.id = 0;
    rejects(q, /a location has id 0/);
    const r = good();
    r.function[1]!.id = 0;
    rejects(r, /a function has id 0/);
  });

  it('accepts every recorded fixture', () => {
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', FIXTURE_DIR), 'utf8')) as { files: Record<string, string> };
    const names = Object.keys(manifest.files);
    const required = [
      ...['heap', 'mutex', 'block'].flatMap((t) => [1, 2, 3, 4, 5, 6].map((k) => `${t}-${k}.pb.gz`)),
      ...['cpu', 'goroutine', 'mutex-off', 'block-off', 'heap-other-process'].map((n) => `${n}.pb.gz`),
    ];
    for (const n of required) assert.ok(names.includes(n), `manifest lists ${n}`);
    for (const name of names) {
      assert.doesNotThrow(() => validateProfile(decode(fixture(name))), name);
    }
  });
});

describe('sampleTypeIndexes', () => {
  it('finds the cumulative sample types of heap, mutex and block profiles', () => {
    assert.deepEqual(sampleTypeIndexes(decode(fixture('heap-1.pb.gz')), ['alloc_objects', 'alloc_space'], 'heap'), [0, 1]);
    assert.deepEqual(sampleTypeIndexes(decode(fixture('heap-1.pb.gz')), ['inuse_space', 'alloc_objects'], 'heap'), [3, 0]);
    assert.deepEqual(sampleTypeIndexes(decode(fixture('mutex-2.pb.gz')), ['contentions', 'delay'], 'mutex'), [0, 1]);
    assert.deepEqual(sampleTypeIndexes(decode(fixture('block-2.pb.gz')), ['contentions', 'delay'], 'block'), [0, 1]);
  });

  it('a goroutine profile passed as heap is refused with a clear message', () => {
    assert.throws(
      () => sampleTypeIndexes(decode(fixture('goroutine.pb.gz')), ['alloc_objects', 'alloc_space'], 'heap'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidProfileError);
        assert.equal(
          (err as Error).message,
          'not a heap profile: it has sample types [goroutine], but a heap profile has alloc_objects and alloc_space',
        );
        return true;
      },
    );
  });

  it('the processor refuses a cpu profile scraped as mutex and keeps no baseline', async () => {
    const store = new BaselineStore();
    const proc = new ProfileProcessor({ baselines: store });
    await assert.rejects(
      proc.process({ target: testTarget(), type: 'mutex', body: fixture('cpu.pb.gz'), startedAtMs: 0, finishedAtMs: 1 }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidProfileError);
        assert.match((err as Error).message, /^not a mutex profile: it has sample types \[samples, cpu\], but a mutex profile has contentions and delay$/);
        return true;
      },
    );
    assert.equal(store.size, 0);
  });
});
