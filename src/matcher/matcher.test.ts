import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkMatcherSyntax, explainMatch, matches, query } from './index.ts';

/** Every distinct matcher string of the real-world corpus (`test/corpus/`, vendored with its sources). */
const corpusMatcherFile = fileURLToPath(new URL('../../test/corpus/matchers.json', import.meta.url));

function corpusMatchers(): string[] {
  return JSON.parse(readFileSync(corpusMatcherFile, 'utf8')) as string[];
}

const scan = {
  type: 'Scan', id: '3', 'scan-type': 'T1_MPRAGE', modality: 'MR', uid: '1.2.3', frames: 176,
  resources: [{ type: 'Resource', label: 'DICOM' }, { type: 'Resource', label: 'SNAPSHOTS' }],
};

test('every corpus matcher parses (after template substitution)', () => {
  const ms = corpusMatchers();
  assert.equal(ms.length, 48);
  for (const m of ms) {
    const substituted = m
      .replace('#T1-scantype#', '"T1", "MPRAGE"')
      .replace(/#SESSION_LABEL#/g, 'S1')
      .replace('#series-uid#', '1\\.2\\.3')
      .replace(/\[\^wrapper:.*\^\]/, '["T1"]');
    assert.deepEqual(checkMatcherSyntax(substituted), { ok: true }, m);
  }
});

test('Jayway meanings of the corpus matcher forms', () => {
  assert.equal(matches("'DICOM' in @.resources[*].label", scan), true);
  assert.equal(matches("'NIFTI' in @.resources[*].label", scan), false);
  assert.equal(matches("@.scan-type == 'T1_MPRAGE'", scan), true);
  assert.equal(matches("@.scan-type=='T1_MPRAGE'", scan), true);
  assert.equal(matches('@.scan-type == "T1_MPRAGE"', scan), true);
  assert.equal(matches('@.scan-type in ["T1", "T1_MPRAGE"]', scan), true);
  assert.equal(matches("@.scan-type in ['T2']", scan), false);
  // Regexes match the whole value (Java's matches()), flags after the slash.
  assert.equal(matches('@.scan-type =~ /T1/', scan), false);
  assert.equal(matches('@.scan-type =~ /.*t1.*/i', scan), true);
  assert.equal(matches('@.scan-type =~ /.*t1.*/', scan), false);
  assert.equal(matches("@.modality =~ /(?!RT).*/ && 'DICOM' in @.resources[*].label", scan), true);
  assert.equal(matches("@.modality =~ /(?!MR).*/ && 'DICOM' in @.resources[*].label", scan), false);
  // A missing value is matched as "" (so /x|^$/ accepts objects without the field).
  assert.equal(matches('@.missing =~ /1\\.2\\.3|^$/', scan), true);
  // Jayway reads /Resources/bids/*.json as the regex Resources/bids with flags "*.json".
  assert.equal(matches('@.name =~ /Resources/bids/*.json', { name: 'Resources/bids' }), true);
  assert.equal(matches("('DICOM' in @.resources[*].label || 'secondary' in @.resources[*].label)", scan), true);
});

test('operators: comparison, negation, list operators, size, empty, exists', () => {
  assert.equal(matches('@.frames > 100 && @.frames <= 176', scan), true);
  assert.equal(matches('@.frames < 100', scan), false);
  assert.equal(matches("@.frames == '176'", scan), true, 'number on the left compares as a number');
  assert.equal(matches("'176' == @.frames", scan), true, 'string on the left compares as text');
  assert.equal(matches("@.modality != 'CT'", scan), true);
  assert.equal(matches("@.missing != 'CT'", scan), true, 'missing is not equal to anything');
  assert.equal(matches("@.missing == 'CT'", scan), false);
  assert.equal(matches("@.modality nin ['CT', 'PT']", scan), true);
  assert.equal(matches("@.resources[*].label subsetof ['DICOM', 'SNAPSHOTS', 'NIFTI']", scan), true);
  assert.equal(matches("@.resources[*].label anyof ['NIFTI', 'DICOM']", scan), true);
  assert.equal(matches("@.resources[*].label noneof ['NIFTI']", scan), true);
  assert.equal(matches('@.resources size 2', scan), true);
  assert.equal(matches('@.modality size 2', scan), true);
  assert.equal(matches('@.resources empty false', scan), true);
  assert.equal(matches('@.uid', scan), true);
  assert.equal(matches('!@.nothing', scan), true);
  assert.equal(matches("!(@.modality == 'MR') || @.frames == 176", scan), true);
  assert.equal(matches('@.flag == true && @.none == null', { flag: true, none: null }), true);
  assert.equal(matches("@['scan-type'] == 'T1_MPRAGE'", scan), true);
  assert.equal(matches("'DICOM' in @..label", scan), true);
});

test('paths: members, wildcards, indexes, slices, deep scan, filters', () => {
  const doc = { a: [{ n: 1, t: 'x' }, { n: 2, t: 'y' }, { n: 3, t: 'x' }], 'ext-inputs': [{ name: 'T1-scantype', value: '"T1"' }] };
  assert.deepEqual(query('$.a[*].n', doc), [1, 2, 3]);
  assert.deepEqual(query('$.a[0].n', doc), [1]);
  assert.deepEqual(query('$.a[-1].n', doc), [3]);
  assert.deepEqual(query('$.a[0,2].n', doc), [1, 3]);
  assert.deepEqual(query('$.a[1:].n', doc), [2, 3]);
  assert.deepEqual(query('$.a[:1].n', doc), [1]);
  assert.deepEqual(query('$..n', doc), [1, 2, 3]);
  assert.deepEqual(query("$.a[?(@.t == 'x')].n", doc), [1, 3]);
  assert.deepEqual(query("$.ext-inputs[?(@.name == 'T1-scantype')].value", doc), ['"T1"']);
});

test('syntax errors give the position and what was expected', () => {
  const r = checkMatcherSyntax("@.label == 'DICOM");
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.position === 17 && /closing '/.test(r.message));
  const r2 = checkMatcherSyntax('@.label === 1');
  assert.ok(!r2.ok && r2.position === 10 && /expected a value/.test(r2.message));
  const r3 = checkMatcherSyntax("@.label == 'a' &&");
  assert.ok(!r3.ok && r3.position === 17);
  const r4 = checkMatcherSyntax("@.label 'a'");
  assert.ok(!r4.ok && r4.position === 8 && /"&&", "\|\|" or the end/.test(r4.message));
  assert.ok(!checkMatcherSyntax('').ok);
});

test('regex guard: nested unbounded quantifiers refused, long values not matched', () => {
  const r = checkMatcherSyntax('@.label =~ /(a+)+b/');
  assert.ok(!r.ok && /repeats a group/.test(r.message));
  assert.ok(checkMatcherSyntax('@.label =~ /(ab)?c*/').ok);
  assert.equal(matches('@.label =~ /a.*/', { label: 'a'.repeat(200_000) }), false);
});

test('explanation names the failing clause and the value it saw', () => {
  const e = explainMatch("@.modality == 'MR' && 'NIFTI' in @.resources[*].label", scan);
  assert.equal(e.matched, false);
  assert.deepEqual(e.reasons, [`'NIFTI' in @.resources[*].label is false (left = "NIFTI", right = ["DICOM","SNAPSHOTS"])`]);
  const m = explainMatch("@.missing == 'x'", scan);
  assert.match(m.reasons[0], /left = missing/);
});
