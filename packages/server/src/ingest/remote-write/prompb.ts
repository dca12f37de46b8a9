/**
 * Prometheus remote-write 1.0 message types, loaded with protobufjs from the definitions
 * below. No npm package ships Prometheus's prompb definitions, so the messages Lookout reads
 * are kept here as .proto text, trimmed from prometheus/prometheus prompb/types.proto and
 * prompb/remote.proto (gogoproto options removed; field numbers and types unchanged).
 *
 *   Copyright 2016-2017 Prometheus Team
 *   Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file
 *   except in compliance with the License. You may obtain a copy of the License at
 *   http://www.apache.org/licenses/LICENSE-2.0
 *   Unless required by applicable law or agreed to in writing, software distributed under the
 *   License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND,
 *   either express or implied. See the License for the specific language governing permissions
 *   and limitations under the License.
 */
import protobuf from 'protobufjs';

const PROMPB_PROTO = `
syntax = "proto3";
package prometheus;

message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}

message MetricMetadata {
  enum MetricType {
    UNKNOWN        = 0;
    COUNTER        = 1;
    GAUGE          = 2;
    HISTOGRAM      = 3;
    GAUGEHISTOGRAM = 4;
    SUMMARY        = 5;
    INFO           = 6;
    STATESET       = 7;
  }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}

message Sample {
  double value    = 1;
  int64 timestamp = 2;
}

message Exemplar {
  repeated Label labels = 1;
  double value = 2;
  int64 timestamp = 3;
}

message BucketSpan {
  sint32 offset = 1;
  uint32 length = 2;
}

message Histogram {
  oneof count {
    uint64 count_int   = 1;
    double count_float = 2;
  }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count {
    uint64 zero_count_int   = 6;
    double zero_count_float = 7;
  }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  int32 reset_hint = 14;
  int64 timestamp = 15;
}

message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated Histogram histograms = 4;
}

message Label {
  string name  = 1;
  string value = 2;
}
`;

export interface PbLabel {
  name: string;
  value: string;
}
export interface PbSample {
  value: number;
  /** int64 milliseconds; protobufjs gives a number when `longs: Number` conversion is used. */
  timestamp: number;
}
export interface PbExemplar {
  labels: PbLabel[];
  value: number;
  timestamp: number;
}
export interface PbTimeSeries {
  labels: PbLabel[];
  samples: PbSample[];
  exemplars: PbExemplar[];
  histograms: unknown[];
}
export interface PbMetricMetadata {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface PbWriteRequest {
  timeseries: PbTimeSeries[];
  metadata: PbMetricMetadata[];
}

const root = protobuf.parse(PROMPB_PROTO, { keepCase: false }).root;

/** prometheus.WriteRequest, the remote-write 1.0 message. */
export const WriteRequestType = root.lookupType('prometheus.WriteRequest');
/** The rarer sub-messages, which the decoder hands to protobufjs whole. */
export const ExemplarType = root.lookupType('prometheus.Exemplar');
export const MetricMetadataType = root.lookupType('prometheus.MetricMetadata');

/** Encodes a WriteRequest (for tests and benchmarks, which act as senders). */
export function encodeWriteRequest(request: {
  timeseries: { labels: PbLabel[]; samples?: PbSample[]; exemplars?: PbExemplar[] }[];
  metadata?: PbMetricMetadata[];
}): Uint8Array {
  return WriteRequestType.encode(WriteRequestType.fromObject(request)).finish();
}
