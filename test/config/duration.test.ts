import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DurationSyntaxError, formatDuration, parseGoDuration } from '../../src/config/duration.js';

describe('parseGoDuration', () => {
  const valid: Array<[string, number]> = [
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2h45m', 9_900_000],
    ['1500us', 1.5],
    ['1500µs', 1.5], // U+00B5, as Go accepts
    ['1500μs', 1.5], // U+03BC, as Go accepts
    ['100ns', 0.0001],
    ['0', 0],
    ['0s', 0],
    ['+10s', 10_000],
    ['1.s', 1_000],
    ['.5s', 500],
    ['1h1m1s1ms', 3_661_001],
    ['1m1m', 120_000], // Go sums repeated units
    ['10.25s', 10_250],
  ];
  for (const [text, ms] of valid) {
    test(`"${text}" is ${ms} ms`, () => {
      assert.equal(parseGoDuration(text), ms);
    });
  }

  test('decimal fractions are exact to the nanosecond, as in Go ("4.1m" is 246s, not 245.99999999999997s)', () => {
    assert.equal(parseGoDuration('4.1m'), 246_000);
    assert.equal(parseGoDuration('1.1h'), 3_960_000);
    assert.equal(parseGoDuration('2.3h'), 8_280_000);
    assert.equal(parseGoDuration('1.005s'), 1_005);
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /empty duration/],
    ['10', /missing unit/],
    ['-1s', /negative duration "-1s"/],
    ['10x', /invalid duration "10x"/],
    ['s', /invalid duration "s"/],
    ['.s', /invalid duration ".s"/],
    ['1h 30m', /invalid duration "1h 30m"/],
    ['10S', /invalid duration "10S"/],
    ['1.2.3s', /invalid duration "1.2.3s"/],
    ['10s5', /invalid duration "10s5"/],
  ];
  for (const [text, message] of invalid) {
    test(`"${text}" is rejected`, () => {
      assert.throws(() => parseGoDuration(text), (err: unknown) => {
        assert.ok(err instanceof DurationSyntaxError, `expected DurationSyntaxError, got ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('durations longer than Go can hold (int64 nanoseconds, ~2562047h) are rejected like Go does', () => {
    assert.equal(parseGoDuration('2562047h'), 2_562_047 * 3_600_000);
    assert.throws(() => parseGoDuration('2562048h'), DurationSyntaxError);
    assert.throws(() => parseGoDuration('10000000000000000000000h'), DurationSyntaxError);
  });

  test('property: h/m/s/ms/us/ns with decimal fractions parse to the exact nanosecond value', () => {
    // Nanoseconds per unit, and how many fraction digits still give whole
    // nanoseconds (so the exact value is an integer number of ns, as in Go).
    const units = [
      { unit: 'h', ns: 3_600_000_000_000n, maxInt: 200, maxDigits: 9 },
      { unit: 'm', ns: 60_000_000_000n, maxInt: 10_000, maxDigits: 9 },
      { unit: 's', ns: 1_000_000_000n, maxInt: 100_000, maxDigits: 9 },
      { unit: 'ms', ns: 1_000_000n, maxInt: 1_000_000, maxDigits: 6 },
      { unit: 'us', ns: 1_000n, maxInt: 1_000_000, maxDigits: 3 },
      { unit: 'ns', ns: 1n, maxInt: 1_000_000, maxDigits: 0 },
    ];
    const part = fc
      .constantFrom(...units)
      .chain((u) =>
        fc.record({
          u: fc.constant(u),
          int: fc.integer({ min: 0, max: u.maxInt }),
          frac: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 0, maxLength: u.maxDigits }),
        }),
      );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), (parts) => {
        let text = '';
        let ns = 0n;
        for (const { u, int, frac } of parts) {
          text += frac === '' ? `${int}${u.unit}` : `${int}.${frac}${u.unit}`;
          ns += BigInt(int) * u.ns;
          if (frac !== '') ns += (BigInt(frac) * u.ns) / 10n ** BigInt(frac.length);
        }
        const ms = parseGoDuration(text);
        // Milliseconds as a double cannot hold every nanosecond value exactly,
        // but it must round to the right nanosecond, and a whole number of
        // milliseconds (what the whole-seconds checks rely on) must be exact.
        assert.equal(Math.round(ms * 1e6), Number(ns), text);
        if (ns % 1_000_000n === 0n) assert.equal(ms, Number(ns / 1_000_000n), text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatDuration', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [10_000, '10s'],
    [9_750, '9.75s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [5_400_000, '1h30m0s'],
    [9_900_000, '2h45m0s'],
    [3_723_004, '1h2m3.004s'],
    [500, '500ms'],
    [1.5, '1.5ms'],
  ];
  for (const [ms, text] of cases) {
    test(`${ms} ms prints as "${text}" (Go's format)`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }

  test('keeps sub-millisecond precision instead of rounding to a whole-looking value', () => {
    // A "must be whole seconds, got 9s" message would contradict itself.
    assert.equal(formatDuration(9_000.0001), '9.0000001s');
    assert.equal(formatDuration(parseGoDuration('9.0001s')), '9.0001s');
  });

  test('property: parseGoDuration(formatDuration(ms)) gives ms back for whole milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), (ms) => {
        assert.equal(parseGoDuration(formatDuration(ms)), ms, formatDuration(ms));
      }),
      { numRuns: 500 },
    );
  });
});
