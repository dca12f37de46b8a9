import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileLogSelector } from './selector.js';

describe('compileLogSelector (Promtail match stage)', () => {
  it('matches labels and line filters of one line', () => {
    const match = compileLogSelector('{job="varlogs", level=~"warn|error"} |= "timeout" != "retry" |~ "(?i)DB"');
    assert.equal(match({ job: 'varlogs', level: 'error' }, 'db timeout'), true);
    assert.equal(match({ job: 'varlogs', level: 'info' }, 'db timeout'), false);
    assert.equal(match({ job: 'varlogs', level: 'warn' }, 'db timeout, retry'), false);
    assert.equal(match({ job: 'other', level: 'warn' }, 'db timeout'), false);
  });
  it('accepts selectors Loki queries would refuse (no validation, as Promtail)', () => {
    assert.equal(compileLogSelector('{app!="x"}')({ app: 'y' }, 'l'), true);
  });
  it('refuses stages other than line filters and bad syntax', () => {
    assert.throws(() => compileLogSelector('{a="b"} | json'), /only line filters/);
    assert.throws(() => compileLogSelector('{a="b"'), /parse error/);
    assert.throws(() => compileLogSelector('count_over_time({a="b"}[1m])'), /only log selector/);
  });
});
