import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelsBuilder } from './labels.js';
import { compileTemplate } from './template.js';

const T = 1_700_000_000_123_000_000n;
function render(template: string, labels: Record<string, string>, line = 'the line'): string {
  return compileTemplate(template)({ timestampNs: T, line, labels: new LabelsBuilder(labels, {}) });
}

describe('line_format templates (Go text/template subset with Loki functions)', () => {
  const l = { app: 'api', level: 'Error', status: '404', dur: '1.5s', path: '/a/b', n: '7' };
  it('fields, pipelines and text', () => {
    assert.equal(render('{{.app}}: {{ .level | ToLower }} {{.missing}}!', l), 'api: error !');
    assert.equal(render('{{ .level | upper | printf "%-7s|" }}', l), 'ERROR  |');
  });
  it('conditionals, with, variables and trim markers', () => {
    assert.equal(render('{{ if eq .status "404" }}nf{{ else if eq .status "500" }}ie{{ else }}ok{{ end }}', l), 'nf');
    assert.equal(render('{{ if and (gt (int .status) 400) (lt (int .status) 500) }}4xx{{ end }}', l), '4xx');
    assert.equal(render('{{ with .app }}[{{ . }}]{{ end }}{{ with .missing }}x{{ else }}none{{ end }}', l), '[api]none');
    assert.equal(render('{{ $s := .status }}{{- " " -}} s={{ $s }}', l), ' s=404');
  });
  it('string functions Loki documents', () => {
    assert.equal(render('{{ Replace .path "/" "_" -1 }}', l), '_a_b');
    assert.equal(render('{{ TrimPrefix .path "/a" }} {{ trunc 2 .app }} {{ substr 0 1 .app }} {{ title "hello world" }}', l), '/b ap a Hello World');
    assert.equal(render('{{ regexReplaceAll "(\\\\d)(\\\\d)" .status "${2}${1}" }}', l), '044');
    assert.equal(render('{{ default "-" .missing }} {{ .app | default "-" }} {{ repeat 2 "ab" }} {{ contains "pi" .app }}', l), '- api abab true');
    assert.equal(render('{{ b64enc .app }} {{ b64dec "YXBp" }} {{ urlencode "a b&c" }}', l), 'YXBp api a+b%26c');
    assert.equal(render('{{ alignLeft 5 .app }}|{{ alignRight 5 .app }}|{{ count "a" "banana" }}', l), 'api  |  api|3');
  });
  it('numbers, durations, bytes and time', () => {
    assert.equal(render('{{ add 1 2 3 }} {{ sub 10 4 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ addf 1.5 1 }} {{ divf 1 4 }}', l), '6 6 6 3 1 2.5 0.25');
    assert.equal(render('{{ duration .dur }} {{ bytes "2KiB" }} {{ max 1 5 3 }} {{ round 2.567 1 }}', l), '1.5 2048 5 2.6');
    assert.equal(render('{{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }} {{ __timestamp__ | unixEpoch }}', l), '2023-11-14T22:13:20.123Z 1700000000');
    assert.equal(render('{{ __line__ }}', l, 'raw'), 'raw');
  });
  it('rejects malformed templates at compile time', () => {
    assert.throws(() => compileTemplate('{{ .a '), /unclosed action/);
    assert.throws(() => compileTemplate('{{ if .a }}x'), /unexpected EOF/);
    assert.throws(() => render('{{ nosuchfn .a }}', l), /function "nosuchfn" not defined/);
  });
});
