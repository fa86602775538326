import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Label, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { describeNonProfile, inflateProfile, int64, isGzip, uint } from '../../src/profile/codec.js';
import { decodeProfile } from '../helpers/reference/validate.js';
import { InvalidProfileError, ProfileTooLargeError } from '../../src/profile/errors.js';
import { BaselineStore } from '../../src/profile/baselines.js';
import { ProfileProcessor } from '../../src/profile/processor.js';
import { validateProfile } from '../helpers/reference/validate.js';
import { fixture } from '../helpers/pprof-model.js';
import { testTarget } from '../helpers/targets.js';

const MiB = 1024 * 1024;

/** inflate + decode + validate, as the processor does. */
async function parse(body: Uint8Array, max = MiB, contentType?: string): Promise<Profile> {
  const raw = await inflateProfile(body, max);
  const p = decodeProfile(raw, body, contentType);
  validateProfile(p);
  return p;
}

async function rejectsWith(body: Uint8Array, cls: typeof InvalidProfileError | typeof ProfileTooLargeError, message?: RegExp, contentType?: string) {
  await assert.rejects(parse(body, MiB, contentType), (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    if (message) assert.match((err as Error).message, message);
    return true;
  });
}

describe('inflateProfile', () => {
  it('refuses a gzip bomb (10 MiB of zeros against a 1 MiB cap) with ProfileTooLargeError', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * MiB));
    assert.ok(bomb.length < 64 * 1024);
    await assert.rejects(inflateProfile(bomb, MiB), (err: unknown) => {
      assert.ok(err instanceof ProfileTooLargeError, String(err));
      assert.equal((err as ProfileTooLargeError).code, 'ERR_PROFILE_TOO_LARGE');
      assert.match((err as Error).message, /more than 1 MiB/);
      assert.match((err as Error).message, /gzip bomb/);
      return true;
    });
  });

  it('the cap is inclusive: exactly the cap inflates, one byte more does not', async () => {
    const cap = 64 * 1024;
    const exact = await inflateProfile(gzipSync(Buffer.alloc(cap, 7)), cap);
    assert.equal(exact.length, cap);
    await assert.rejects(inflateProfile(gzipSync(Buffer.alloc(cap + 1, 7)), cap), ProfileTooLargeError);
  });

  it('the processor applies its maxDecompressedBytes', async () => {
    const proc = new ProfileProcessor({ baselines: new BaselineStore(), maxDecompressedBytes: MiB });
    const bomb = gzipSync(Buffer.alloc(4 * MiB));
    await assert.rejects(
      proc.process({ target: testTarget(), type: 'heap', body: bomb, startedAtMs: 0, finishedAtMs: 1 }),
      ProfileTooLargeError,
    );
  });

  it('a truncated gzip stream is an InvalidProfileError', async () => {
    const gz = fixture('heap-1.pb.gz');
    for (const cut of [10, Math.floor(gz.length / 2), gz.length - 1]) {
      await rejectsWith(gz.subarray(0, cut), InvalidProfileError, /gzip stream is broken.*truncated or corrupt/);
    }
  });

  it('a gzip stream with a bad checksum is an InvalidProfileError', async () => {
    const gz = Buffer.from(fixture('heap-1.pb.gz'));
    gz[gz.length - 6]! ^= 0xff; // CRC32 in the trailer
    await rejectsWith(gz, InvalidProfileError, /gzip stream is broken/);
  });

  it('an uncompressed protobuf pprof is accepted as is', async () => {
    const raw = gunzipSync(fixture('heap-2.pb.gz'));
    assert.equal(isGzip(raw), false);
    const inflated = await inflateProfile(raw, MiB);
    assert.ok(inflated.equals(raw));
    const p = await parse(raw);
    const viaGzip = await parse(fixture('heap-2.pb.gz'));
    assert.equal(p.sample.length, viaGzip.sample.length);
    assert.ok(p.sample.length > 0);
  });
});

describe('bodies that are not profiles', () => {
  const html = [
    '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>...</form></body></html>',
    '<html><body>502 Bad Gateway</body></html>',
    '\n\n  <!doctype html><html></html>',
    '\r\n<html lang="en"></html>',
  ];
  for (const body of html) {
    it(`HTML ${JSON.stringify(body.slice(0, 24))}… is an InvalidProfileError that says HTML`, async () => {
      await rejectsWith(Buffer.from(body), InvalidProfileError, /HTML/);
    });
  }

  const json = ['{"error":"not found"}', '[{"id":1}]', '{\n  "status": "ok"\n}', '\n{"error":"not found"}', '  [1, 2, 3]\n'];
  for (const body of json) {
    it(`JSON ${JSON.stringify(body.slice(0, 24))} is an InvalidProfileError that says JSON`, async () => {
      await rejectsWith(Buffer.from(body), InvalidProfileError, /JSON/);
    });
  }

  it('the Content-Type names HTML even when the body does not start with a tag', async () => {
    await rejectsWith(Buffer.from('Please log in'), InvalidProfileError, /HTML/, 'text/html; charset=utf-8');
  });

  it('an empty body and Go\'s plain-text 404 are InvalidProfileErrors that say what they are', async () => {
    await rejectsWith(Buffer.alloc(0), InvalidProfileError, /empty/);
    await rejectsWith(Buffer.from('404 page not found\n'), InvalidProfileError, /the response is text, not a pprof profile: "404 page not found"/);
  });

  it('describeNonProfile prefers HTML, then JSON, then a hex head', () => {
    assert.match(describeNonProfile(Buffer.from('<p>x</p>')), /HTML/);
    assert.match(describeNonProfile(Buffer.from('{}')), /JSON/);
    assert.match(describeNonProfile(Buffer.from('x'), 'application/json'), /JSON/);
    assert.match(describeNonProfile(Buffer.from([1, 2, 3])), /3 bytes starting 010203/);
  });

  it('random bytes only ever raise InvalidProfileError or ProfileTooLargeError', async () => {
    const gzHeader = fc.uint8Array({ maxLength: 256 }).map((b) => Uint8Array.from([0x1f, 0x8b, 0x08, 0, ...b]));
    const gzipped = fc.uint8Array({ maxLength: 512 }).map((b) => new Uint8Array(gzipSync(b)));
    // Valid profile bytes with a few bytes changed or cut short: reaches the validator.
    const base = gunzipSync(fixture('mutex-2.pb.gz'));
    const mutated = fc
      .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat())
      .map(([edits, cut]) => {
        const b = Uint8Array.from(base);
        for (const [at, v] of edits) b[at % b.length] = v;
        return b.subarray(0, cut % 3 === 0 ? (cut % b.length) + 1 : b.length);
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 1024 }), gzHeader, gzipped, mutated), async (body) => {
        try {
          await parse(body, 64 * 1024);
        } catch (err) {
          assert.ok(err instanceof InvalidProfileError || err instanceof ProfileTooLargeError, `unexpected ${String(err)}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('int64 and uint', () => {
  it('a negative value written by pprof-format decodes as a huge unsigned bigint and int64 normalises it', () => {
    const st = new StringTable();
    const p = new Profile({
      sampleType: [new ValueType({ type: st.dedup('delay'), unit: st.dedup('nanoseconds') })],
      sample: [new Sample({ locationId: [], value: [-5], label: [new Label({ key: st.dedup('n'), num: -1n })] })],
      stringTable: st,
      timeNanos: 1_700_000_000_000_000_000n,
    });
    const back = Profile.decode(p.encode());
    const v = back.sample[0]!.value[0]!;
    assert.equal(typeof v, 'bigint');
    assert.equal(BigInt(v), 2n ** 64n - 5n);
    assert.equal(int64(v), -5n);
    assert.equal(int64(back.sample[0]!.label[0]!.num), -1n);
    assert.equal(int64(back.timeNanos), 1_700_000_000_000_000_000n);
  });

  it('int64 maps numbers and bigints exactly', () => {
    assert.equal(int64(0), 0n);
    assert.equal(int64(42), 42n);
    assert.equal(int64(2n ** 63n - 1n), 2n ** 63n - 1n);
    assert.equal(int64(2n ** 63n), -(2n ** 63n));
    assert.equal(int64(2n ** 64n - 1n), -1n);
    assert.equal(uint(7), 7);
    assert.equal(uint(7n), 7);
  });

});
