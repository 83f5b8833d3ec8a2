import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resultSetJson, toResultSet, type Listing } from './format.ts';

test('resultSetJson is the text of toResultSet: columns in order, missing cells blank, extra keys last', () => {
  const l: Listing = {
    title: 'Files',
    columns: ['Name', 'Size', 'URI'],
    rows: [{ URI: '/a', Name: 'a "q"\n', Size: '1', other: 'not shown' }, { Name: 'b\u2028é' }],
    extra: { Columns: [{ key: 'URI', serverRoot: '' }] },
  };
  const text = resultSetJson(l);
  assert.equal(text, JSON.stringify(toResultSet(l)));
  assert.equal(text, '{"ResultSet":{"Result":[{"Name":"a \\"q\\"\\n","Size":"1","URI":"/a"},{"Name":"b\u2028é","Size":"","URI":""}],'
    + '"totalRecords":"2","title":"Files","Columns":[{"key":"URI","serverRoot":""}]}}');
});

test('resultSetJson keeps the requested order for index-like columns and writes a __proto__ column', () => {
  const l: Listing = { title: 'T', columns: ['ID', '10', '2', '__proto__'], rows: [{ ID: 'x', 10: 'ten', 2: 'two', ['__proto__']: 'p' }] }; // computed: an own key
  assert.equal(resultSetJson(l), '{"ResultSet":{"Result":[{"ID":"x","10":"ten","2":"two","__proto__":"p"}],"totalRecords":"1","title":"T"}}');
});
