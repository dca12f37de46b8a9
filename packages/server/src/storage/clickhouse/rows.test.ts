import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelsFingerprint, type Sample } from '../../model/index.js';
import { sampleRowsTsv, SeriesCache } from './rows.js';

const DAY = 86_400_000;
const T0 = 20_000 * DAY + 1234;

describe('metric_samples rows', () => {
  it('writes TabSeparated rows in column order with NaN, infinities and staleness markers', () => {
    const labels = Object.freeze({ __name__: 'm', job: 'a' });
    const fp = labelsFingerprint(labels);
    const samples: Sample[] = [
      { labels, timestampMs: T0, value: 1.5 },
      { labels, timestampMs: T0 + 1, value: Number.NaN },
      { labels, timestampMs: T0 + 2, value: Infinity },
      { labels, timestampMs: T0 + 3, value: -Infinity },
      { labels, timestampMs: T0 + 4, value: Number.NaN, stale: true },
      { labels, timestampMs: T0 + 5.9, value: -0.001 },
    ];
    const rows = sampleRowsTsv('team\ta\\b', samples, new SeriesCache());
    assert.equal(rows.samplesFormat, 'TabSeparated');
    assert.deepEqual(rows.samples.split('\n'), [
      `team\\ta\\\\b\t${fp}\t${T0}\t1.5\t0`,
      `team\\ta\\\\b\t${fp}\t${T0 + 1}\tnan\t0`,
      `team\\ta\\\\b\t${fp}\t${T0 + 2}\tinf\t0`,
      `team\\ta\\\\b\t${fp}\t${T0 + 3}\t-inf\t0`,
      `team\\ta\\\\b\t${fp}\t${T0 + 4}\tnan\t1`,
      `team\\ta\\\\b\t${fp}\t${T0 + 5}\t-0.001\t0`,
      '',
    ]);
    // One series row for the day, as JSONEachRow.
    assert.equal(rows.newSeries.length, 1);
    assert.deepEqual(JSON.parse(rows.series), { TenantId: 'team\ta\\b', Date: 20_000, MetricName: 'm', Fingerprint: fp, Labels: { __name__: 'm', job: 'a' } });
  });

  it('writes a series row once per tenant and day, for frozen and ordinary label objects alike', () => {
    const cache = new SeriesCache();
    const frozen = Object.freeze({ __name__: 'm', job: 'a' });
    const first = sampleRowsTsv('t', [{ labels: frozen, timestampMs: T0, value: 1 }], cache);
    assert.equal(first.newSeries.length, 1);
    // Same labels in another object, same day: no new row; next day or other tenant: a row.
    assert.equal(sampleRowsTsv('t', [{ labels: { __name__: 'm', job: 'a' }, timestampMs: T0 + 1, value: 1 }], cache).newSeries.length, 0);
    assert.equal(sampleRowsTsv('t', [{ labels: frozen, timestampMs: T0 + 2, value: 1 }], cache).newSeries.length, 0);
    assert.equal(sampleRowsTsv('t', [{ labels: frozen, timestampMs: T0 + DAY, value: 1 }], cache).newSeries.length, 1);
    assert.equal(sampleRowsTsv('u', [{ labels: frozen, timestampMs: T0, value: 1 }], cache).newSeries.length, 1);
    assert.equal(cache.fingerprint(frozen), labelsFingerprint(frozen));
  });

  it('writes the series row again after a failed insert is forgotten', () => {
    const cache = new SeriesCache();
    const frozen = Object.freeze({ __name__: 'm' });
    const failed = sampleRowsTsv('t', [{ labels: frozen, timestampMs: T0, value: 1 }], cache);
    for (const s of failed.newSeries) cache.forgetSeries('t', s);
    const retry = sampleRowsTsv('t', [{ labels: frozen, timestampMs: T0, value: 1 }], cache);
    assert.equal(retry.newSeries.length, 1);
    assert.notEqual(retry.series, '');
  });
});
