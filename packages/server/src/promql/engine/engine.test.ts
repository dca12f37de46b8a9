import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Labels } from '../../model/index.js';
import type { LabelMatcher, SeriesQuerier, SeriesSelect, StoredSeries } from '../../storage/index.js';
import { PromqlError, type PromqlValue } from '../types.js';
import { createEngine } from './engine.js';

interface MemSeries {
  labels: Labels;
  samples: { timestampMs: number; value: number; stale: boolean }[];
}

function matches(m: LabelMatcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  const re = (): RegExp => new RegExp(`^(?:${m.value})$`, 's');
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return re().test(v);
    case '!~':
      return !re().test(v);
  }
}

/** An in-memory SeriesQuerier honouring the select contract, counting calls. */
class MemQuerier implements Pick<SeriesQuerier, 'select'> {
  readonly data: MemSeries[] = [];
  selects: SeriesSelect[] = [];

  add(labels: Labels, stepMs: number, values: (number | 'stale' | null)[], startMs = 0): this {
    const samples = values.flatMap((v, i) =>
      v === null ? [] : [{ timestampMs: startMs + i * stepMs, value: v === 'stale' ? NaN : v, stale: v === 'stale' }],
    );
    this.data.push({ labels, samples });
    return this;
  }

  async select(q: SeriesSelect): Promise<StoredSeries[]> {
    this.selects.push(q);
    return this.data
      .filter((s) => q.matchers.every((m) => matches(m, s.labels)))
      .map((s) => ({ labels: s.labels, samples: s.samples.filter((p) => p.timestampMs >= q.startMs && p.timestampMs <= q.endMs) }))
      .filter((s) => s.samples.length > 0);
  }

}

function vector(v: PromqlValue): Record<string, number> {
  assert.equal(v.type, 'vector');
  const out: Record<string, number> = {};
  if (v.type === 'vector') for (const s of v.samples) out[JSON.stringify(Object.fromEntries(Object.entries(s.labels).sort()))] = s.value;
  return out;
}

const MIN = 60_000;

describe('PromQL engine', () => {
  it('extrapolates rate() like Prometheus and drops the metric name', async () => {
    const q = new MemQuerier().add({ __name__: 'http_requests_total', job: 'a' }, 5 * MIN, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const engine = createEngine({ querier: q });
    const res = await engine.instantQuery({ tenant: 't', query: 'rate(http_requests_total[25m])', timeMs: 50 * MIN });
    // 5 samples (60..100) over 20m inside the 25m window (25m, 50m]: the first sample is 5m (within
    // 1.1 average intervals) from the start, so the increase is extrapolated there: 40 * 25/20 / 1500s.
    assert.deepEqual(vector(res.value), { [JSON.stringify({ job: 'a' })]: (40 * 1.25) / 1500 });
    assert.deepEqual(res.infos, []);
  });

  it('reads each distinct selector once for a whole range query and ends series at staleness markers', async () => {
    const q = new MemQuerier().add({ __name__: 'up', job: 'a' }, MIN, [1, 1, 1, 'stale', null, null, 1]);
    const engine = createEngine({ querier: q });
    const res = await engine.rangeQuery({ tenant: 't', query: 'up + up', startMs: 0, endMs: 6 * MIN, stepMs: MIN });
    // Both operands are the same selector over the same range: one read serves both.
    assert.equal(q.selects.length, 1);
    await engine.rangeQuery({ tenant: 't', query: 'up + up offset 1m', startMs: 0, endMs: 6 * MIN, stepMs: MIN });
    assert.equal(q.selects.length, 3);
    assert.equal(res.value.type, 'matrix');
    if (res.value.type !== 'matrix') return;
    assert.deepEqual(
      res.value.series[0]!.points.map((p) => [p.timestampMs / MIN, p.value]),
      [
        [0, 2],
        [1, 2],
        [2, 2],
        [6, 2],
      ],
    );
    assert.deepEqual(res.value.series[0]!.labels, { job: 'a' });
  });

  it('applies the 5m lookback delta, offsets (negative too) and @ start()/end()', async () => {
    const q = new MemQuerier().add({ __name__: 'm' }, MIN, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const engine = createEngine({ querier: q });
    const at = async (query: string, timeMs: number): Promise<Record<string, number>> =>
      vector((await engine.instantQuery({ tenant: 't', query, timeMs })).value);
    assert.deepEqual(await at('m', 15 * MIN - 1), { '{"__name__":"m"}': 10 });
    assert.deepEqual(await at('m', 15 * MIN), {});
    assert.deepEqual(await at('m offset 2m', 5 * MIN), { '{"__name__":"m"}': 3 });
    assert.deepEqual(await at('m offset -2m', 5 * MIN), { '{"__name__":"m"}': 7 });
    const range = await engine.rangeQuery({ tenant: 't', query: 'm @ start() + m @ end()', startMs: 2 * MIN, endMs: 4 * MIN, stepMs: MIN });
    assert.equal(range.value.type, 'matrix');
    if (range.value.type === 'matrix') assert.deepEqual(range.value.series[0]!.points.map((p) => p.value), [6, 6, 6]);
  });

  it('evaluates subqueries, aggregations and vector matching', async () => {
    const q = new MemQuerier()
      .add({ __name__: 'req', job: 'a', instance: '1' }, MIN, [1, 2, 3, 4, 5, 6])
      .add({ __name__: 'req', job: 'a', instance: '2' }, MIN, [2, 4, 6, 8, 10, 12])
      .add({ __name__: 'limit', job: 'a' }, MIN, [100, 100, 100, 100, 100, 100]);
    const engine = createEngine({ querier: q });
    const run = async (query: string): Promise<Record<string, number>> =>
      vector((await engine.instantQuery({ tenant: 't', query, timeMs: 5 * MIN })).value);
    assert.deepEqual(await run('sum by (job) (req)'), { '{"job":"a"}': 18 });
    assert.deepEqual(await run('max_over_time(req[3m:1m])'), { '{"instance":"1","job":"a"}': 6, '{"instance":"2","job":"a"}': 12 });
    assert.deepEqual(await run('req / on(job) group_left limit'), { '{"instance":"1","job":"a"}': 0.06, '{"instance":"2","job":"a"}': 0.12 });
    assert.deepEqual(await run('topk(1, req)'), { '{"__name__":"req","instance":"2","job":"a"}': 12 });
    await assert.rejects(
      engine.instantQuery({ tenant: 't', query: 'limit / on(job) req', timeMs: 5 * MIN }),
      (e: unknown) =>
        e instanceof PromqlError &&
        e.errorType === 'execution' &&
        e.message.includes('found duplicate series for the match group {job="a"} on the right hand-side of the operation') &&
        e.message.endsWith('many-to-many matching not allowed: matching labels must be unique on one side'),
    );
  });

  it('removes __name__ late and rejects results that then collide', async () => {
    const q = new MemQuerier().add({ __name__: 'a', x: '1' }, MIN, [1, 2]).add({ __name__: 'b', x: '1' }, MIN, [3, 4]);
    const engine = createEngine({ querier: q });
    const res = await engine.instantQuery({ tenant: 't', query: 'label_replace(abs({x="1"}), "__name__", "c", "__name__", "a")', timeMs: MIN });
    assert.deepEqual(vector(res.value), { '{"__name__":"c","x":"1"}': 2, '{"x":"1"}': 4 });
    await assert.rejects(
      engine.instantQuery({ tenant: 't', query: 'abs({x="1"})', timeMs: MIN }),
      (e: unknown) => e instanceof PromqlError && e.message === 'vector cannot contain metrics with the same labelset',
    );
  });

  it('enforces max samples, the point limit, cancellation and bad input', async () => {
    const q = new MemQuerier().add({ __name__: 'm' }, MIN, Array.from({ length: 100 }, (_, i) => i));
    const engine = createEngine({ querier: q, maxSamples: 50 });
    await assert.rejects(
      engine.rangeQuery({ tenant: 't', query: 'm', startMs: 0, endMs: 99 * MIN, stepMs: MIN }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'execution' && /too many samples/.test(e.message),
    );
    await assert.rejects(
      engine.rangeQuery({ tenant: 't', query: 'm', startMs: 0, endMs: 11_001 * MIN, stepMs: MIN }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'bad_data' && /exceeded maximum resolution of 11,000 points per timeseries/.test(e.message),
    );
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(
      engine.instantQuery({ tenant: 't', query: 'm', timeMs: MIN, signal: aborted.signal }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'canceled',
    );
    await assert.rejects(
      engine.instantQuery({ tenant: 't', query: 'm', timeMs: MIN, timeoutMs: -1 }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'timeout',
    );
    const stuck = createEngine({ querier: { select: () => new Promise<never>(() => {}) } });
    await assert.rejects(
      stuck.instantQuery({ tenant: 't', query: 'm', timeMs: MIN, timeoutMs: 50 }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'timeout',
    );
    await assert.rejects(
      engine.instantQuery({ tenant: 't', query: 'sum(', timeMs: MIN }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'bad_data',
    );
    await assert.rejects(
      engine.rangeQuery({ tenant: 't', query: 'm[5m]', startMs: 0, endMs: MIN, stepMs: MIN }),
      (e: unknown) => e instanceof PromqlError && e.errorType === 'bad_data' && e.message.includes('range vector'),
    );
  });

  it('reads columns through selectColumns when the storage has it, with the same results as select', async () => {
    const rows = new MemQuerier()
      .add({ __name__: 'c_total', job: 'a' }, MIN, [1, 3, 'stale', null, 4, 9, 2, 5, NaN, 7])
      .add({ __name__: 'c_total', job: 'b' }, MIN, [0, 0, 1, 1, 2, 'stale', 3, 3, 4, 4]);
    let columnReads = 0;
    const columns = {
      select: () => Promise.reject(new Error('select must not be used when selectColumns exists')),
      selectColumns: async (q: SeriesSelect) => {
        columnReads++;
        return (await rows.select(q)).map((s) => ({
          labels: s.labels,
          timestampsMs: Float64Array.from(s.samples, (p) => p.timestampMs),
          values: Float64Array.from(s.samples, (p) => p.value),
          ...(s.samples.some((p) => p.stale) ? { stale: Uint8Array.from(s.samples, (p) => (p.stale ? 1 : 0)) } : {}),
        }));
      },
    };
    const queries = ['c_total', 'rate(c_total[3m])', 'sum by (job) (increase(c_total[5m]))', 'max_over_time(c_total[2m]) - c_total', 'count(c_total > 2)'];
    for (const query of queries) {
      const range = { tenant: 't', query, startMs: 0, endMs: 9 * MIN, stepMs: MIN };
      const viaRows = await createEngine({ querier: rows }).rangeQuery(range);
      const viaColumns = await createEngine({ querier: columns }).rangeQuery(range);
      assert.deepEqual(viaColumns.value, viaRows.value, query);
    }
    // One read per query, two for the query whose selectors cover different ranges.
    assert.equal(columnReads, 6);
  });

  it('computes histogram_quantile over classic buckets with the monotonicity fix', async () => {
    const q = new MemQuerier();
    for (const [le, v] of [
      ['0.1', 10],
      ['0.5', 8],
      ['1', 20],
      ['+Inf', 20],
    ] as const) {
      q.add({ __name__: 'lat_bucket', le }, MIN, [v]);
    }
    const engine = createEngine({ querier: q });
    const res = await engine.instantQuery({ tenant: 't', query: 'histogram_quantile(0.5, lat_bucket)', timeMs: 0 });
    assert.deepEqual(vector(res.value), { '{}': 0.1 });
    assert.equal(res.infos.length, 1);
    assert.match(res.infos[0]!, /^PromQL info: input to histogram_quantile needed to be fixed for monotonicity/);
  });
});
