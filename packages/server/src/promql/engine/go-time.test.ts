import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goCivil, goDaysInMonth, goInt64 } from './go-time.js';

describe("Go's calendar (Prometheus date functions)", () => {
  it('agrees with JavaScript dates from year 100 to near the end of their range', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const points = [0, -1, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 4_107_542_400 /* 2100-03-01 */, -59_011_459_200 /* year 100 */, 8.6e12];
    for (let i = 0; i < 2000; i++) points.push(Math.trunc(-59_011_459_200 + random() * (8.6e12 + 59_011_459_200)));
    for (const seconds of points) {
      const d = new Date(seconds * 1000);
      const c = goCivil(BigInt(seconds));
      const start = Date.UTC(d.getUTCFullYear(), 0, 1);
      assert.deepEqual(
        c,
        {
          year: d.getUTCFullYear(),
          month: d.getUTCMonth() + 1,
          day: d.getUTCDate(),
          yearDay: Math.floor((d.getTime() - start) / 86_400_000) + 1,
          weekday: d.getUTCDay(),
          hour: d.getUTCHours(),
          minute: d.getUTCMinutes(),
        },
        `at ${seconds}`,
      );
      assert.equal(goDaysInMonth(c), new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(), `days in month at ${seconds}`);
    }
  });

  it("converts as Go's int64() does on amd64 and wraps its absolute clock as Go does", () => {
    assert.equal(goInt64(-0.5), 0n);
    assert.equal(goInt64(1e300), -(2n ** 63n));
    assert.equal(goInt64(NaN), -(2n ** 63n));
    assert.equal(goInt64(-Infinity), -(2n ** 63n));
    assert.equal(goInt64(2 ** 63), -(2n ** 63n));
    // 0001-01-01 (Go's time.Time zero) was a Monday; 0004 was a leap year.
    assert.deepEqual(goCivil(-62_135_596_800n), { year: 1, month: 1, day: 1, yearDay: 1, weekday: 1, hour: 0, minute: 0 });
    assert.equal(goDaysInMonth(goCivil(-62_135_596_800n + 3n * 365n * 86_400n + 31n * 86_400n)), 29);
    // time.Unix(math.MinInt64, 0).UTC() in Go: year 292277026596 (what Prometheus answers for year(NaN)).
    assert.equal(goCivil(-(2n ** 63n)).year, 292277026596);
  });
});
