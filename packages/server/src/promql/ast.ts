/**
 * Lookout's typed PromQL syntax tree, produced and type-checked by `parser/` (parsePromql) and
 * consumed by the engine and the HTTP API. It mirrors Prometheus's promql/parser AST so that
 * printing (String(), Prettify) and /api/v1/parse_query JSON can be reproduced exactly.
 */
import type { LabelMatcher } from '../storage/index.js';

export type { LabelMatcher };

/** The four PromQL value types; every node carries the one the checker assigned. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** 0-based, end-exclusive UTF-16 offsets into the query text. */
export interface PositionRange {
  start: number;
  end: number;
}

/** `@ <timestamp>`, `@ start()` or `@ end()`. */
export type AtModifier = { kind: 'timestamp'; ms: number } | { kind: 'start' } | { kind: 'end' };

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio';

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
/** Native-histogram bucket trimming (Prometheus 3.x); comparison precedence. On floats Prometheus drops the sample with an info annotation. */
export type TrimOp = '</' | '>/';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp | TrimOp;

export type VectorMatchCardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: VectorMatchCardinality;
  /** true: match on `labels` only (`on(...)`); false: match on all labels except `labels` (`ignoring(...)`, or no modifier with labels = []). */
  on: boolean;
  labels: string[];
  /** Labels copied from the "one" side (`group_left(...)`/`group_right(...)`). */
  include: string[];
}

interface NodeBase {
  pos: PositionRange;
  type: ValueType;
}

export interface NumberLiteral extends NodeBase {
  kind: 'NumberLiteral';
  type: 'scalar';
  value: number;
  /** Written as a duration (`5m`): printed back as one. */
  duration?: boolean;
}

export interface StringLiteral extends NodeBase {
  kind: 'StringLiteral';
  type: 'string';
  value: string;
}

export interface VectorSelector extends NodeBase {
  kind: 'VectorSelector';
  type: 'vector';
  /** The metric name when written as an identifier or quoted name before/inside the braces. */
  name?: string;
  /** All matchers including the `__name__` equality matcher derived from `name`. */
  matchers: LabelMatcher[];
  /** Offset in milliseconds (negative = into the future); 0 when absent. */
  offsetMs: number;
  at?: AtModifier;
}

export interface MatrixSelector extends NodeBase {
  kind: 'MatrixSelector';
  type: 'matrix';
  /** The selector; its offsetMs/at are the ones written after the range (`foo[5m] offset 1m`). */
  vectorSelector: VectorSelector;
  rangeMs: number;
}

export interface Subquery extends NodeBase {
  kind: 'Subquery';
  type: 'matrix';
  expr: Expr;
  rangeMs: number;
  /** 0 = the default (global evaluation interval). */
  stepMs: number;
  offsetMs: number;
  at?: AtModifier;
}

export interface Call extends NodeBase {
  kind: 'Call';
  /** The resolved function name, e.g. 'rate', 'label_replace'. */
  func: string;
  args: Expr[];
}

export interface Aggregate extends NodeBase {
  kind: 'Aggregate';
  type: 'vector';
  op: AggregateOp;
  expr: Expr;
  /** The parameter of topk/bottomk/quantile/count_values/limitk/limit_ratio. */
  param?: Expr;
  grouping: string[];
  without: boolean;
}

export interface Binary extends NodeBase {
  kind: 'Binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** `bool` modifier on a comparison. */
  returnBool: boolean;
  /** Present exactly when both operands are instant vectors. */
  matching?: VectorMatching;
}

export interface Unary extends NodeBase {
  kind: 'Unary';
  op: '-' | '+';
  expr: Expr;
}

export interface Paren extends NodeBase {
  kind: 'Paren';
  expr: Expr;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | Subquery
  | Call
  | Aggregate
  | Binary
  | Unary
  | Paren;
