/**
 * Loki's index and metadata endpoints over stream labels: labels, label values, series,
 * index/stats, index/volume(_range), detected_labels, and status/buildinfo; patterns answers a
 * clean 404 (as Loki without a pattern ingester), so Grafana falls back.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { LabelMatcher, LogStreamQuerier, LogVolumeSeries } from '../../storage/index.js';
import { badParam, param, params, parseBounds, parseInstantQuery, parseRangeQuery, type Params } from './params.js';
import { sampleValue, secondsJson, sortedLabels } from './format.js';

/** Turns a stream selector (or a log query, whose matchers are used) into matchers. */
export type SelectorParser = (query: string) => LabelMatcher[];

export interface LokiIndexOptions {
  logStreams: LogStreamQuerier;
  parseSelector: SelectorParser;
  tenantOf: (request: FastifyRequest) => string;
  /** Reported as the Loki version by status/buildinfo: the Loki API level Lookout follows. */
  lokiVersion: string;
  lookoutVersion: string;
}

export function allParams(request: FastifyRequest): Params {
  const body = request.body;
  const fromBody = typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? (body as Params) : {};
  return { ...(request.query as Params), ...fromBody };
}

function optionalSelector(parse: SelectorParser, query: string): (readonly LabelMatcher[])[] {
  return query === '' ? [] : [parse(query)];
}

const ID_LIKE = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|-?\d+(?:\.\d+)?|[0-9a-fA-F]{16,})$/;

/** Loki's detected_labels drops labels without values and labels whose (3+) values are all ids. */
function isIdLabel(values: string[]): boolean {
  if (values.length === 0) return true;
  if (values.length <= 2) return false;
  return values.every((v) => ID_LIKE.test(v));
}

const DEFAULT_VOLUME_LIMIT = 100;

function volumeParams(all: Params): { targetLabels: string[]; aggregateBy: 'series' | 'labels'; limit: number } {
  const limitText = param(all, 'limit');
  let limit = DEFAULT_VOLUME_LIMIT;
  if (limitText !== '') {
    if (!/^[+-]?\d+$/.test(limitText)) throw badParam(`strconv.Atoi: parsing ${JSON.stringify(limitText)}: invalid syntax`);
    limit = Number(limitText);
    if (limit <= 0) throw badParam('limit must be a positive value');
  }
  const aggregate = param(all, 'aggregateBy');
  if (aggregate !== '' && aggregate !== 'series' && aggregate !== 'labels') throw badParam('invalid aggregation option');
  const targets = param(all, 'targetLabels');
  return {
    targetLabels: targets === '' ? [] : targets.split(',').map((t) => t.trim()).filter((t) => t !== ''),
    aggregateBy: aggregate === 'labels' ? 'labels' : 'series',
    limit,
  };
}

function volumeJson(series: LogVolumeSeries[], forceVector: boolean): string {
  const matrix = !forceVector && series.some((s) => s.points.length > 1);
  const result = series.map((s) => {
    const metric = JSON.stringify(sortedLabels(s.labels));
    if (matrix) return `{"metric":${metric},"values":[${s.points.map((p) => `[${secondsJson(p.timestampMs)},"${sampleValue(p.bytes)}"]`).join(',')}]}`;
    const p = s.points[0]!;
    return `{"metric":${metric},"value":[${secondsJson(p.timestampMs)},"${sampleValue(p.bytes)}"]}`;
  });
  return `{"status":"success","data":{"resultType":"${matrix ? 'matrix' : 'vector'}","result":[${result.join(',')}]}}\n`;
}

export function lokiIndexRoutes(options: LokiIndexOptions): FastifyPluginAsync {
  const { logStreams, parseSelector, tenantOf } = options;
  return async (app) => {
    const both = (url: string, handler: (request: FastifyRequest) => Promise<string | object>) => {
      app.route({
        method: ['GET', 'POST'],
        url,
        handler: async (request, reply) => {
          const body = await handler(request);
          return reply.type('application/json; charset=utf-8').send(typeof body === 'string' ? body : JSON.stringify(body));
        },
      });
    };

    both('/loki/api/v1/labels', async (request) => {
      const all = allParams(request);
      const { startNs, endNs } = parseBounds(all);
      const names = await logStreams.labelNames({ tenant: tenantOf(request), startNs, endNs, selectors: optionalSelector(parseSelector, param(all, 'query')) });
      // Loki omits `data` when there are no labels.
      return names.length === 0 ? { status: 'success' } : { status: 'success', data: names };
    });

    both('/loki/api/v1/label/:name/values', async (request) => {
      const all = allParams(request);
      const { name } = request.params as { name: string };
      const { startNs, endNs } = parseBounds(all);
      const values = await logStreams.labelValues({ tenant: tenantOf(request), startNs, endNs, name, selectors: optionalSelector(parseSelector, param(all, 'query')) });
      return values.length === 0 ? { status: 'success' } : { status: 'success', data: values };
    });

    both('/loki/api/v1/series', async (request) => {
      const all = allParams(request);
      const { startNs, endNs } = parseBounds(all);
      // Loki: `match` and `match[]` together, deduplicated; a lone `{}` selects every stream.
      let groups = [...new Set([...params(all, 'match[]'), ...params(all, 'match')])].sort();
      if (groups.length === 1 && groups[0]!.replace(/ /g, '') === '{}') groups = [];
      const selectors = groups.map((g) => parseSelector(g));
      const series = await logStreams.series({ tenant: tenantOf(request), startNs, endNs, selectors });
      return { status: 'success', data: series };
    });

    both('/loki/api/v1/index/stats', async (request) => {
      const all = allParams(request);
      const q = parseRangeQuery(all);
      return logStreams.indexStats({ tenant: tenantOf(request), startNs: q.startNs, endNs: q.endNs, selectors: optionalSelector(parseSelector, q.query) });
    });

    both('/loki/api/v1/index/volume', async (request) => {
      const all = allParams(request);
      const volume = volumeParams(all);
      parseInstantQuery(all); // checks time, limit and direction, as Loki's ParseVolumeInstantQuery does
      const { startNs, endNs } = parseBounds(all);
      if (endNs < startNs) throw badParam('end timestamp must not be before or equal to start time');
      const series = await logStreams.volume({ tenant: tenantOf(request), startNs, endNs, selectors: optionalSelector(parseSelector, param(all, 'query')), ...volume });
      return volumeJson(series, true);
    });

    both('/loki/api/v1/index/volume_range', async (request) => {
      const all = allParams(request);
      const volume = volumeParams(all);
      const q = parseRangeQuery(all);
      const series = await logStreams.volume({
        tenant: tenantOf(request),
        startNs: q.startNs,
        endNs: q.endNs,
        selectors: optionalSelector(parseSelector, q.query),
        stepMs: Number(q.stepNs / 1_000_000n) || 1,
        ...volume,
      });
      return volumeJson(series, false);
    });

    both('/loki/api/v1/detected_labels', async (request) => {
      const all = allParams(request);
      const { startNs, endNs } = parseBounds(all);
      const tenant = tenantOf(request);
      const selectors = optionalSelector(parseSelector, param(all, 'query'));
      const names = await logStreams.labelNames({ tenant, startNs, endNs, selectors });
      const detected: { label: string; cardinality: number }[] = [];
      for (const name of names) {
        const values = await logStreams.labelValues({ tenant, startNs, endNs, selectors, name });
        if (!isIdLabel(values)) detected.push({ label: name, cardinality: values.length });
      }
      return { detectedLabels: detected };
    });

    // No pattern ingester: Loki answers 404 with an empty body, and Grafana hides patterns.
    app.route({ method: ['GET', 'POST'], url: '/loki/api/v1/patterns', handler: async (_request, reply) => reply.code(404).type('text/plain; charset=utf-8').send('') });

    app.get('/loki/api/v1/status/buildinfo', async (_request, reply) =>
      reply.type('application/json; charset=utf-8').send(
        JSON.stringify({ version: options.lokiVersion, revision: `lookout-${options.lookoutVersion}`, branch: '', buildUser: '', buildDate: '', goVersion: '' }),
      ),
    );
  };
}
