/** Loki push: decode (JSON, snappy protobuf), validate with Loki's limits, convert to log records. No HTTP. */
export { decodePushJson, decodePushProtobuf, type PushEntry, type PushStream } from './decode.js';
export {
  convertPush,
  DETECTED_LEVEL,
  SERVICE_NAME_LABEL,
  StreamOrderTracker,
  UNKNOWN_SERVICE,
  type ConvertPushContext,
  type ConvertPushResult,
} from './convert.js';
export { DEFAULT_LOKI_PUSH_LIMITS, type LokiPushLimits } from '../../model/index.js';
export { parseSelector, parseLabelSet, formatLabels, quoteLabelValue, SelectorSyntaxError, type SelectorMatcher, type MatcherType } from './selector.js';
export { LOKI_PUSH_PROTO, PushRequestType } from './push-proto.js';
