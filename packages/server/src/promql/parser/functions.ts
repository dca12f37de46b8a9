/**
 * Prometheus 3.x's PromQL function table (promql/parser/functions.go): argument types, how many
 * trailing arguments are optional (variadic: n more, -1 = unbounded), return type, and whether the
 * function is experimental (Prometheus needs --enable-feature=promql-experimental-functions).
 */
import type { ValueType } from '../ast.js';

export interface PromqlFunction {
  name: string;
  argTypes: readonly ValueType[];
  /**
   * 0: exactly argTypes.length arguments. Otherwise at least argTypes.length - 1 and at most
   * argTypes.length - 1 + variadic (-1: no maximum); arguments past the list have the last type.
   */
  variadic: number;
  returnType: ValueType;
  experimental: boolean;
}

const table: [string, ValueType[], number, ValueType, boolean][] = [
  ['abs', ['vector'], 0, 'vector', false],
  ['absent', ['vector'], 0, 'vector', false],
  ['absent_over_time', ['matrix'], 0, 'vector', false],
  ['acos', ['vector'], 0, 'vector', false],
  ['acosh', ['vector'], 0, 'vector', false],
  ['asin', ['vector'], 0, 'vector', false],
  ['asinh', ['vector'], 0, 'vector', false],
  ['atan', ['vector'], 0, 'vector', false],
  ['atanh', ['vector'], 0, 'vector', false],
  ['avg_over_time', ['matrix'], 0, 'vector', false],
  ['ceil', ['vector'], 0, 'vector', false],
  ['changes', ['matrix'], 0, 'vector', false],
  ['clamp', ['vector', 'scalar', 'scalar'], 0, 'vector', false],
  ['clamp_max', ['vector', 'scalar'], 0, 'vector', false],
  ['clamp_min', ['vector', 'scalar'], 0, 'vector', false],
  ['cos', ['vector'], 0, 'vector', false],
  ['cosh', ['vector'], 0, 'vector', false],
  ['count_over_time', ['matrix'], 0, 'vector', false],
  ['days_in_month', ['vector'], 1, 'vector', false],
  ['day_of_month', ['vector'], 1, 'vector', false],
  ['day_of_week', ['vector'], 1, 'vector', false],
  ['day_of_year', ['vector'], 1, 'vector', false],
  ['deg', ['vector'], 0, 'vector', false],
  ['end', [], 0, 'scalar', true],
  ['delta', ['matrix'], 0, 'vector', false],
  ['deriv', ['matrix'], 0, 'vector', false],
  ['exp', ['vector'], 0, 'vector', false],
  ['first_over_time', ['matrix'], 0, 'vector', false],
  ['floor', ['vector'], 0, 'vector', false],
  ['histogram_avg', ['vector'], 0, 'vector', false],
  ['histogram_count', ['vector'], 0, 'vector', false],
  ['histogram_sum', ['vector'], 0, 'vector', false],
  ['histogram_stddev', ['vector'], 0, 'vector', false],
  ['histogram_stdvar', ['vector'], 0, 'vector', false],
  ['histogram_fraction', ['scalar', 'scalar', 'vector'], 0, 'vector', false],
  ['histogram_quantile', ['scalar', 'vector'], 0, 'vector', false],
  ['histogram_quantiles', ['vector', 'string', 'scalar', 'scalar'], 9, 'vector', true],
  ['double_exponential_smoothing', ['matrix', 'scalar', 'scalar'], 0, 'vector', true],
  ['hour', ['vector'], 1, 'vector', false],
  ['idelta', ['matrix'], 0, 'vector', false],
  ['increase', ['matrix'], 0, 'vector', false],
  ['info', ['vector', 'vector'], 1, 'vector', true],
  ['irate', ['matrix'], 0, 'vector', false],
  ['label_replace', ['vector', 'string', 'string', 'string', 'string'], 0, 'vector', false],
  ['label_join', ['vector', 'string', 'string', 'string'], -1, 'vector', false],
  ['max_of', ['scalar', 'scalar'], 0, 'scalar', true],
  ['last_over_time', ['matrix'], 0, 'vector', false],
  ['min_of', ['scalar', 'scalar'], 0, 'scalar', true],
  ['ln', ['vector'], 0, 'vector', false],
  ['log10', ['vector'], 0, 'vector', false],
  ['log2', ['vector'], 0, 'vector', false],
  ['mad_over_time', ['matrix'], 0, 'vector', true],
  ['max_over_time', ['matrix'], 0, 'vector', false],
  ['min_over_time', ['matrix'], 0, 'vector', false],
  ['ts_of_first_over_time', ['matrix'], 0, 'vector', true],
  ['ts_of_max_over_time', ['matrix'], 0, 'vector', true],
  ['ts_of_min_over_time', ['matrix'], 0, 'vector', true],
  ['ts_of_last_over_time', ['matrix'], 0, 'vector', true],
  ['minute', ['vector'], 1, 'vector', false],
  ['month', ['vector'], 1, 'vector', false],
  ['pi', [], 0, 'scalar', false],
  ['predict_linear', ['matrix', 'scalar'], 0, 'vector', false],
  ['present_over_time', ['matrix'], 0, 'vector', false],
  ['quantile_over_time', ['scalar', 'matrix'], 0, 'vector', false],
  ['rad', ['vector'], 0, 'vector', false],
  ['range', [], 0, 'scalar', true],
  ['rate', ['matrix'], 0, 'vector', false],
  ['resets', ['matrix'], 0, 'vector', false],
  ['round', ['vector', 'scalar'], 1, 'vector', false],
  ['scalar', ['vector'], 0, 'scalar', false],
  ['sgn', ['vector'], 0, 'vector', false],
  ['sin', ['vector'], 0, 'vector', false],
  ['sinh', ['vector'], 0, 'vector', false],
  ['sort', ['vector'], 0, 'vector', false],
  ['sort_desc', ['vector'], 0, 'vector', false],
  ['sort_by_label', ['vector', 'string'], -1, 'vector', true],
  ['sort_by_label_desc', ['vector', 'string'], -1, 'vector', true],
  ['sqrt', ['vector'], 0, 'vector', false],
  ['start', [], 0, 'scalar', true],
  ['start_timestamp', ['vector'], 0, 'vector', true],
  ['step', [], 0, 'scalar', true],
  ['stddev_over_time', ['matrix'], 0, 'vector', false],
  ['stdvar_over_time', ['matrix'], 0, 'vector', false],
  ['sum_over_time', ['matrix'], 0, 'vector', false],
  ['tan', ['vector'], 0, 'vector', false],
  ['tanh', ['vector'], 0, 'vector', false],
  ['time', [], 0, 'scalar', false],
  ['timestamp', ['vector'], 0, 'vector', false],
  ['vector', ['scalar'], 0, 'vector', false],
  ['year', ['vector'], 1, 'vector', false],
];

export const PROMQL_FUNCTIONS: ReadonlyMap<string, PromqlFunction> = new Map(
  table.map(([name, argTypes, variadic, returnType, experimental]) => [name, { name, argTypes, variadic, returnType, experimental }]),
);
