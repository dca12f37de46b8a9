/**
 * The labels of one log line while it moves through a pipeline, by Loki's categories: stream
 * labels, structured metadata, parsed (added by stages). A later category wins on read;
 * deletions hide a name in every category.
 */
import type { Labels } from '../../model/index.js';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

export class LabelsBuilder {
  readonly stream: Labels;
  readonly metadata: Labels;
  parsed: Labels = {};
  private deleted: Set<string> | undefined;

  constructor(stream: Labels, metadata: Labels) {
    this.stream = stream;
    this.metadata = metadata;
  }

  get(name: string): string | undefined {
    if (this.deleted?.has(name)) return undefined;
    return this.parsed[name] ?? this.metadata[name] ?? this.stream[name];
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** A name a parser should not overwrite (Loki adds `_extracted` instead). */
  baseHas(name: string): boolean {
    return (name in this.stream || name in this.metadata) && !this.deleted?.has(name);
  }

  set(name: string, value: string): void {
    this.parsed[name] = value;
    this.deleted?.delete(name);
  }

  delete(name: string): void {
    delete this.parsed[name];
    if (name in this.stream || name in this.metadata) (this.deleted ??= new Set()).add(name);
  }

  hasErr(): boolean {
    return this.get(ERROR_LABEL) !== undefined;
  }

  setErr(kind: string, details?: string): void {
    this.set(ERROR_LABEL, kind);
    if (details !== undefined) this.set(ERROR_DETAILS_LABEL, details);
  }

  /** All visible labels. Empty values are dropped, as Loki drops them from results. */
  all(): Labels {
    const out: Labels = {};
    for (const source of [this.stream, this.metadata, this.parsed]) {
      for (const key in source) {
        if (this.deleted?.has(key)) continue;
        const v = source[key]!;
        if (v === '') delete out[key];
        else out[key] = v;
      }
    }
    return out;
  }

  /** Stream labels as the pipeline left them (stream + parsed, without structured metadata). */
  streamResult(): Labels {
    const out: Labels = {};
    for (const key in this.stream) if (!this.deleted?.has(key) && this.stream[key] !== '' && !(key in this.parsed)) out[key] = this.stream[key]!;
    for (const key in this.parsed) if (this.parsed[key] !== '') out[key] = this.parsed[key]!;
    return out;
  }

  metadataResult(): Labels {
    const out: Labels = {};
    for (const key in this.metadata) if (!this.deleted?.has(key) && !(key in this.parsed) && this.metadata[key] !== '') out[key] = this.metadata[key]!;
    return out;
  }

  parsedResult(): Labels {
    const out: Labels = {};
    for (const key in this.parsed) if (this.parsed[key] !== '') out[key] = this.parsed[key]!;
    return out;
  }
}

/** One line moving through a pipeline: stages may rewrite the line and its labels. */
export interface LineContext {
  timestampNs: bigint;
  line: string;
  labels: LabelsBuilder;
}
