/** Prometheus remote-write 1.0 decoding (no HTTP): snappy + prometheus.WriteRequest → model records. */
export {
  decodeRemoteWrite,
  decodeWriteRequest,
  uncompressSnappy,
  isStaleNaN,
  STALE_NAN,
  type DecodedExemplar,
  type RemoteWriteBatch,
} from './decode.js';
export { encodeWriteRequest, type PbLabel as RemoteWriteLabel } from './prompb.js';
