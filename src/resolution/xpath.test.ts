import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '../command/model.ts';
import { commandsFromText } from './load-command.ts';
import { MemoryObjectSource } from './memory-source.ts';
import { parseValue, resolveCommand, ResolutionError } from './resolve/index.ts';
import { evaluateXPath, parseXml, XPathUnsupported } from './xpath.ts';

const ROI = `<?xml version="1.0" encoding="UTF-8"?>
<!-- the XML XNAT exposes as datatype-string -->
<XFTItem xsi="icr:roiCollectionData">
  <ID>R1</ID>
  <references_seriesuid_roicollectiondata_seriesuid0>
    <XFTItem><seriesuid>1.2.840.1</seriesuid></XFTItem>
    <XFTItem><seriesuid>1.2.840.2</seriesuid></XFTItem>
  </references_seriesuid_roicollectiondata_seriesuid0>
  <session_label a="x &amp; y">HOTEL<![CDATA[_<1>]]></session_label>
</XFTItem>`;

test('§2.5 XPath parser subset: child steps, positions, last(), text(), attributes, //, predicates on values', () => {
  assert.equal(evaluateXPath('/XFTItem/references_seriesuid_roicollectiondata_seriesuid0[1]/XFTItem[1]/seriesuid[1]', ROI), '1.2.840.1');
  assert.equal(evaluateXPath('/XFTItem/references_seriesuid_roicollectiondata_seriesuid0/XFTItem[2]/seriesuid', ROI), '1.2.840.2');
  assert.equal(evaluateXPath('/XFTItem/references_seriesuid_roicollectiondata_seriesuid0/XFTItem[last()]/seriesuid', ROI), '1.2.840.2');
  assert.equal(evaluateXPath('/XFTItem/session_label[1]', ROI), 'HOTEL_<1>', 'entities and CDATA are text');
  assert.equal(evaluateXPath('/XFTItem/session_label/@a', ROI), 'x & y');
  assert.equal(evaluateXPath('/XFTItem/@xsi', ROI), 'icr:roiCollectionData');
  assert.equal(evaluateXPath('//seriesuid', ROI), '1.2.840.1', 'first in document order');
  assert.equal(evaluateXPath("//XFTItem[seriesuid='1.2.840.2']/seriesuid", ROI), '1.2.840.2');
  assert.equal(evaluateXPath('XFTItem/ID/text()', ROI), 'R1', 'relative paths start at the document, as in Java');
  assert.equal(evaluateXPath('/XFTItem/nothing[1]', ROI), '', 'no node selected: the empty string, as Java returns');
  assert.equal(evaluateXPath('/XFTItem/ID/..//seriesuid[1]', ROI), '1.2.840.1');
});

test('§2.5 not XML or not a supported XPath: XPathUnsupported, so the regex fallback applies', () => {
  for (const bad of ['plain text', '<a><b></a></b>', '<a></a><b></b>', '<a x=1></a>', '<a>&nope;</a>', '']) {
    assert.equal(parseXml(bad), null, bad);
    assert.throws(() => evaluateXPath('/a', bad), XPathUnsupported);
  }
  for (const expr of ['count(/a)', '/a/', '/a[b > 1]', 'sub-[0-9]+', '.*\\.dcm', '/x:a']) {
    assert.throws(() => evaluateXPath(expr, '<a/>'), XPathUnsupported, expr);
  }
});

test('§2.5 parseValue: XPath first, then a regex that must match the whole value', () => {
  assert.equal(parseValue(ROI, '/XFTItem/ID'), 'R1');
  assert.equal(parseValue(ROI, '/XFTItem/missing'), '', 'XPath that selects nothing is "", not a regex attempt');
  assert.equal(parseValue('sub-01', 'sub-[0-9]+'), 'sub-01');
  assert.equal(parseValue('sub-01_T1', 'sub-[0-9]+'), null, 'a partial match is no match');
  assert.equal(parseValue('a\nb', 'a.b'), null, 'Java regex: . does not match a newline');
  assert.equal(parseValue('abc', '('), null, 'an invalid regex yields no value');
});

function cmd(c: Record<string, unknown>): Command {
  return commandsFromText(JSON.stringify({ name: 't', image: 'img:1', type: 'docker', ...c }))[0].command;
}

const assessorTree = {
  type: 'Session', id: 'E1', label: 'S1_MR1', uri: '/archive/experiments/E1', directory: '/a/E1',
  scans: [
    { id: '1', uid: '1.2.840.1', uri: '/archive/experiments/E1/scans/1', directory: '/a/E1/SCANS/1' },
    { id: '2', uid: '1.2.840.2', uri: '/archive/experiments/E1/scans/2', directory: '/a/E1/SCANS/2' },
  ],
  assessors: [{ id: 'R1', label: 'R1', xsiType: 'icr:roiCollectionData', uri: '/archive/experiments/E1/assessors/R1', 'datatype-string': ROI }],
};

test('§2.5 a derived string parsed out of datatype-string by XPath selects the referenced scan', async () => {
  const c = cmd({
    'command-line': 'run #scan-id#',
    inputs: [{ name: 'scan-id' }],
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'session', type: 'Session' }],
      'derived-inputs': [
        { name: 'roi', type: 'Assessor', 'derived-from-wrapper-input': 'session' },
        { name: 'series-uid', type: 'string', 'derived-from-wrapper-input': 'roi', 'derived-from-xnat-object-property': 'datatype-string', parser: '/XFTItem/references_seriesuid_roicollectiondata_seriesuid0[1]/XFTItem[2]/seriesuid[1]' },
        { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: '@.uid == \'#series-uid#\'' },
        { name: 'sid', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'scan-id' },
      ],
    }],
  });
  const r = await resolveCommand({ command: c, wrapper: 'w', inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(assessorTree) });
  assert.equal(r['command-line'], 'run 2');
  assert.equal(r['derived-input-values'].find((v) => v.name === 'series-uid')?.value, '1.2.840.2');
});

test('§2.13 a multiple input with several values cannot provide a mount', async () => {
  const c = cmd({
    'command-line': 'run',
    mounts: [{ name: 'in', path: '/in' }],
    inputs: [{ name: 'ids' }],
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'session', type: 'Session' }],
      'derived-inputs': [{ name: 'scans', type: 'Scan', 'derived-from-wrapper-input': 'session', multiple: true, 'provides-value-for-command-input': 'ids', 'provides-files-for-command-mount': 'in' }],
    }],
  });
  const source = new MemoryObjectSource(assessorTree);
  await assert.rejects(resolveCommand({ command: c, wrapper: 'w', inputs: { session: 'E1' }, source }), (e: unknown) => {
    assert.ok(e instanceof ResolutionError);
    assert.equal(e.code, 'resolution.mount.multiple');
    assert.equal(e.message, 'Input "scans" has multiple resolved values. We can only use inputs with a single resolved value.');
    return true;
  });
  // One value takes the single-value path and mounts the scan.
  const one = await resolveCommand({ command: c, wrapper: 'w', inputs: { session: 'E1', scans: '1' }, source });
  assert.equal(one.mounts[0]['xnat-host-path'], '/a/E1/SCANS/1');
});

test('§2.4 a Resource given by id is found by its numeric id', async () => {
  const tree = { type: 'Project', id: 'P', resources: [{ label: 'BIDS', 'integer-id': 42, directory: '/a/P/resources/BIDS' }] };
  const c = cmd({ 'command-line': 'run', mounts: [{ name: 'in', path: '/in' }], xnat: [{ name: 'w', 'external-inputs': [{ name: 'res', type: 'Resource', 'provides-files-for-command-mount': 'in' }] }] });
  const r = await resolveCommand({ command: c, wrapper: 'w', inputs: { res: '42' }, source: new MemoryObjectSource(tree) });
  assert.equal(r.mounts[0]['xnat-host-path'], '/a/P/resources/BIDS');
  assert.equal(r['external-wrapper-input-values'][0].value, '/archive/projects/P/resources/BIDS');
});
