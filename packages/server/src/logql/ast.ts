/**
 * Lookout's typed LogQL syntax tree. The parser (parser/) builds it from @grafana/lezer-logql's
 * concrete tree; the engine (engine/) and the storage pushdown read only this.
 */
import type { LabelMatcher } from '../storage/index.js';

export type { LabelMatcher };

/** 0-based offsets into the query text. */
export interface Pos {
  start: number;
  end: number;
}

export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** One alternative of a line filter: a literal/regexp/pattern, or `ip("cidr")`. */
export type LineFilterValue = { kind: 'text'; value: string } | { kind: 'ip'; value: string };

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilterExpr =
  | { kind: 'and' | 'or'; left: LabelFilterExpr; right: LabelFilterExpr }
  | { kind: 'matcher'; matcher: LabelMatcher }
  /** value: the number, or nanoseconds for durations, or bytes. */
  | { kind: 'number' | 'duration' | 'bytes'; name: string; op: CompareOp; value: number; text: string }
  | { kind: 'ip'; name: string; op: '=' | '!='; cidr: string };

export interface LabelExtraction {
  label: string;
  /** JSON path (json) or key (logfmt); the label name when omitted. */
  expression: string;
}

export type Stage =
  /** Alternatives joined by `or`: a positive filter keeps a line matching any; a negative one drops it. */
  | { kind: 'line_filter'; op: LineFilterOp; values: LineFilterValue[] }
  | { kind: 'json'; extractions: LabelExtraction[] }
  | { kind: 'logfmt'; extractions: LabelExtraction[]; strict: boolean; keepEmpty: boolean }
  | { kind: 'regexp'; pattern: string }
  | { kind: 'pattern'; pattern: string }
  | { kind: 'unpack' }
  | { kind: 'label_filter'; filter: LabelFilterExpr }
  | { kind: 'line_format'; template: string }
  | { kind: 'label_format'; items: { dst: string; rename?: string; template?: string }[] }
  | { kind: 'decolorize' }
  | { kind: 'drop' | 'keep'; labels: { name: string; matcher?: LabelMatcher }[] };

export interface LogSelector {
  kind: 'log';
  matchers: LabelMatcher[];
  stages: Stage[];
  pos: Pos;
}

export type RangeOp =
  | 'count_over_time'
  | 'rate'
  | 'rate_counter'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'avg_over_time'
  | 'sum_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time'
  | 'absent_over_time';

export type VectorOp = 'sum' | 'avg' | 'count' | 'max' | 'min' | 'stddev' | 'stdvar' | 'bottomk' | 'topk' | 'sort' | 'sort_desc';

export type BinaryOp = 'or' | 'and' | 'unless' | '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface Grouping {
  without: boolean;
  labels: string[];
}

export interface Unwrap {
  label: string;
  conversion: '' | 'bytes' | 'duration' | 'duration_seconds';
  /** Label filters after the unwrap (`| unwrap x | __error__=""`). */
  postFilters: LabelFilterExpr[];
}

export interface RangeAggregation {
  kind: 'range_agg';
  op: RangeOp;
  /** quantile_over_time's φ. */
  param?: number;
  selector: LogSelector;
  rangeMs: number;
  offsetMs: number;
  unwrap?: Unwrap;
  grouping?: Grouping;
  pos: Pos;
}

export interface VectorAggregation {
  kind: 'vector_agg';
  op: VectorOp;
  param?: number;
  expr: MetricExpr;
  grouping?: Grouping;
  pos: Pos;
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  lhs: MetricExpr;
  rhs: MetricExpr;
  returnBool: boolean;
  matching?: { on: boolean; labels: string[]; card: 'one-to-one' | 'many-to-one' | 'one-to-many'; include: string[] };
  pos: Pos;
}

export interface LiteralExpr {
  kind: 'literal';
  value: number;
  pos: Pos;
}

export interface VectorExpr {
  kind: 'vector';
  value: number;
  pos: Pos;
}

export interface LabelReplaceExpr {
  kind: 'label_replace';
  expr: MetricExpr;
  dst: string;
  replacement: string;
  src: string;
  regex: string;
  pos: Pos;
}

export type MetricExpr = RangeAggregation | VectorAggregation | BinaryExpr | LiteralExpr | VectorExpr | LabelReplaceExpr;

export type LogqlExpr = LogSelector | MetricExpr;

export function isLogSelector(expr: LogqlExpr): expr is LogSelector {
  return expr.kind === 'log';
}
