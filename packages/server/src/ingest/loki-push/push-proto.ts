/**
 * Loki's push message, loaded by protobufjs from its .proto text.
 *
 * The schema below is the wire-relevant subset of `pkg/push/push.proto` of Grafana Loki
 * (https://github.com/grafana/loki/blob/main/pkg/push/push.proto, Apache License 2.0): field
 * names, numbers and types as published; gogoproto options dropped (they only steer Go code
 * generation). No maintained npm package ships these definitions. It is kept as text in a
 * module so the built server needs no extra files next to its JavaScript.
 */
import protobuf from 'protobufjs';

export const LOKI_PUSH_PROTO = `
syntax = "proto3";
package logproto;
import "google/protobuf/timestamp.proto";

message PushRequest {
  repeated StreamAdapter streams = 1;
  string format = 2;
}
message PushResponse {}
message StreamAdapter {
  string labels = 1;
  repeated EntryAdapter entries = 2;
  uint64 hash = 3;
}
message LabelPairAdapter {
  string name = 1;
  string value = 2;
}
message EntryAdapter {
  google.protobuf.Timestamp timestamp = 1;
  string line = 2;
  repeated LabelPairAdapter structuredMetadata = 3;
  repeated LabelPairAdapter parsed = 4;
}
`;

/** The decoded shape protobufjs gives for logproto.PushRequest (int64 as Long or number). */
export interface PbLong {
  low: number;
  high: number;
  unsigned?: boolean;
}
export interface PbPushRequest {
  streams?: {
    labels?: string;
    entries?: {
      timestamp?: { seconds?: number | PbLong | null; nanos?: number | null } | null;
      line?: string;
      structuredMetadata?: { name?: string; value?: string }[];
    }[];
  }[];
}

function loadPushRequestType(): protobuf.Type {
  const timestamp = protobuf.common.get('google/protobuf/timestamp.proto');
  if (timestamp === null) throw new Error('protobufjs lacks google/protobuf/timestamp.proto');
  const root = protobuf.Root.fromJSON(timestamp);
  protobuf.parse(LOKI_PUSH_PROTO, root, { keepCase: true });
  root.resolveAll();
  return root.lookupType('logproto.PushRequest');
}

export const PushRequestType = loadPushRequestType();
