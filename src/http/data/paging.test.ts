import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isXcsError } from '../../core/errors.ts';
import { pageRows } from './paging.ts';

const rows = ['MR10', 'MR2', 'mr1', 'MR3'].map((label, i) => ({ label, ID: String(i) }));

test('without paging parameters the rows come back as they are, with no total', () => {
  const out = pageRows(rows, { format: 'json' });
  assert.equal(out.rows, rows);
  assert.equal(out.total, undefined);
});

test('sortBy orders numbers within labels naturally and ignores case; offset and limit cut; total counts all', () => {
  assert.deepEqual(pageRows(rows, { sortBy: 'label' }).rows.map((r) => r.label), ['mr1', 'MR2', 'MR3', 'MR10']);
  assert.deepEqual(pageRows(rows, { sortBy: 'xnat:mrSessionData/label', sortOrder: 'desc', limit: '2' }).rows.map((r) => r.label), ['MR10', 'MR3']);
  const page = pageRows(rows, { offset: '3', limit: '5' });
  assert.deepEqual([page.rows.map((r) => r.ID), page.total], [['3'], 4]);
  assert.deepEqual([pageRows(rows, { limit: '0' }).rows, pageRows(rows, { limit: '0' }).total], [[], 4]);
  assert.equal(rows[0].label, 'MR10', 'the input is not reordered');
});

test('bad paging parameters are 400s naming the parameter', () => {
  for (const [q, path] of [[{ offset: '-1' }, 'offset'], [{ limit: '1e3' }, 'limit'], [{ limit: '100001' }, 'limit'],
    [{ sortBy: 'label', sortOrder: 'sideways' }, 'sortOrder'], [{ sortBy: 'a;b' }, 'sortBy']] as const) {
    assert.throws(() => pageRows(rows, q), (e: unknown) => isXcsError(e) && e.status === 400 && e.path === path, JSON.stringify(q));
  }
});
