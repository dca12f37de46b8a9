import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoLayout, timestampParser } from './timestamp.js';

const ns = (iso: string, extraNanos = 0n) => BigInt(Date.parse(iso)) * 1_000_000n + extraNanos;

// Expected values from Promtail's timestamp_test.go and Go's time package documentation.
test('named formats', () => {
  const cases: [string, string, bigint][] = [
    ['RFC3339', '2012-11-01T22:08:41-04:00', ns('2012-11-02T02:08:41Z')],
    ['RFC3339', '2106-01-02T23:04:05-04:00', ns('2106-01-03T03:04:05Z')],
    ['RFC3339', '2019-07-09T21:48:36.123Z', ns('2019-07-09T21:48:36.123Z')], // fraction accepted after seconds
    ['RFC3339Nano', '2019-07-09T21:48:36.000000123Z', ns('2019-07-09T21:48:36Z', 123n)],
    ['RFC3339Nano', '2019-07-09T21:48:36+02:00', ns('2019-07-09T19:48:36Z')],
    ['ANSIC', 'Mon Jan  2 15:04:05 2006', ns('2006-01-02T15:04:05Z')],
    ['ANSIC', 'Tue Jan 12 15:04:05 2006', ns('2006-01-12T15:04:05Z')],
    ['UnixDate', 'Mon Jan  2 15:04:05 UTC 2006', ns('2006-01-02T15:04:05Z')],
    ['RubyDate', 'Mon Jan 02 15:04:05 -0700 2006', ns('2006-01-02T22:04:05Z')],
    ['RFC822', '02 Jan 06 15:04 UTC', ns('2006-01-02T15:04:00Z')],
    ['RFC822Z', '02 Jan 06 15:04 +0100', ns('2006-01-02T14:04:00Z')],
    ['RFC850', 'Monday, 02-Jan-06 15:04:05 GMT', ns('2006-01-02T15:04:05Z')],
    ['RFC1123', 'Mon, 02 Jan 2006 15:04:05 GMT', ns('2006-01-02T15:04:05Z')],
    ['RFC1123Z', 'Mon, 02 Jan 2006 15:04:05 -0700', ns('2006-01-02T22:04:05Z')],
    ['Unix', '1562708916', ns('2019-07-09T21:48:36Z')],
    ['Unix', '1562708916.414123', ns('2019-07-09T21:48:36.414Z', 123_000n)],
    ['Unix', '1562708916.000000123', ns('2019-07-09T21:48:36Z', 123n)],
    ['UnixMs', '1562708916414', ns('2019-07-09T21:48:36.414Z')],
    ['UnixUs', '1562708916414123', ns('2019-07-09T21:48:36.414Z', 123_000n)],
    ['UnixNs', '1562708916000000123', ns('2019-07-09T21:48:36Z', 123n)],
  ];
  for (const [format, input, expected] of cases) assert.equal(timestampParser(format)(input), expected, `${format} ${input}`);
});

test('Go reference layouts', () => {
  const cases: [string, string, bigint][] = [
    ['2006-01-02', '2009-01-01', ns('2009-01-01T00:00:00Z')],
    ['2006-01-02T15:04:05.000Z07:00', '2024-03-05T07:08:09.123+05:30', ns('2024-03-05T01:38:09.123Z')],
    ['2006-01-02T15:04:05.000Z07:00', '2024-03-05T07:08:09.123Z', ns('2024-03-05T07:08:09.123Z')],
    ['2006-01-02 15:04:05,000', '2024-03-05 07:08:09,120', ns('2024-03-05T07:08:09.120Z')],
    ['2006-01-02 15:04:05.999999999 -0700 MST', '2024-03-05 07:08:09.5 +0000 UTC', ns('2024-03-05T07:08:09.500Z')],
    ['02/Jan/2006:15:04:05 -0700', '10/Oct/2000:13:55:36 -0700', ns('2000-10-10T20:55:36Z')],
    ['January 2, 2006 3:04 PM', 'March 7, 2023 9:15 PM', ns('2023-03-07T21:15:00Z')],
    ['January 2, 2006 3:04 PM', 'March 7, 2023 12:15 AM', ns('2023-03-07T00:15:00Z')],
    ['2006-01-02 15:04:05', '2019-07-22 20:29:32', ns('2019-07-22T20:29:32Z')],
    ['20060102150405', '20240305070809', ns('2024-03-05T07:08:09Z')],
    ['2006-01-02T15:04:05Z0700', '2024-03-05T07:08:09-0130', ns('2024-03-05T08:38:09Z')],
  ];
  for (const [layout, input, expected] of cases) assert.equal(parseGoLayout(layout, input), expected, `${layout} ${input}`);
});

test('location applies to custom layouts without a zone (wall time, daylight saving included)', () => {
  // Promtail's test: "2009-07-01 03:30:20" in America/New_York (EDT, UTC-4).
  assert.equal(timestampParser('2006-01-02 15:04:05', 'America/New_York')('2009-07-01 03:30:20'), ns('2009-07-01T07:30:20Z'));
  assert.equal(timestampParser('2006-01-02 15:04:05', 'America/New_York')('2009-01-01 03:30:20'), ns('2009-01-01T08:30:20Z'));
  assert.equal(timestampParser('2006-01-02 15:04:05', 'Europe/Berlin')('2019-07-22 20:29:32'), ns('2019-07-22T18:29:32Z'));
  // An explicit offset wins over the location.
  assert.equal(timestampParser('2006-01-02 15:04:05 -0700', 'Europe/Berlin')('2019-07-22 20:29:32 +0000'), ns('2019-07-22T20:29:32Z'));
});

test('layouts without a year take the year closest to now', () => {
  const now = new Date('2024-07-20T00:00:00Z');
  assert.equal(parseGoLayout('Jan 02 15:04:05', 'Jul 15 01:02:03', undefined, now), ns('2024-07-15T01:02:03Z'));
  assert.equal(parseGoLayout('Jan _2 15:04:05', 'Dec  31 23:59:59', undefined, new Date('2025-01-01T00:00:10Z')), ns('2024-12-31T23:59:59Z'));
  assert.equal(parseGoLayout('Jan _2 15:04:05', 'Jan  1 00:00:01', undefined, new Date('2024-12-31T23:59:59Z')), ns('2025-01-01T00:00:01Z'));
});

test('invalid input is refused as Go refuses it', () => {
  const bad: [string, string][] = [
    ['2006-01-02', '2009-13-01'],
    ['2006-01-02', '2009-02-30'],
    ['2006-01-02', '2009-01-01 extra'],
    ['RFC3339', '2019-07-09 21:48:36Z'],
    ['2006-01-02T15:04:05.000Z', '2024-03-05T07:08:09.12Z'],
    ['15:04', '24:00'],
    ['UnixMs', '12.5'],
    ['Unix', 'abc'],
  ];
  for (const [format, input] of bad) assert.throws(() => timestampParser(format)(input), Error, `${format} ${input}`);
});
