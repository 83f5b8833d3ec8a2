import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '../../command/model.ts';
import { commandsFromText, MemoryObjectSource, preResolve } from '../../resolution/index.ts';
import { buildLaunchUi, MASK, type LaunchUi, type LaunchUiInputConfig, type LaunchUiValuesNode } from './launch-ui-model.ts';
import { REDACTED } from '../../runtime/index.ts';
import type { CommandConfiguration } from './configuration.ts';

const session = {
  type: 'Session', id: 'E1', label: 'S1_MR1', 'project-id': 'P', xsiType: 'xnat:mrSessionData', uri: '/archive/experiments/E1',
  scans: [
    { id: '1', 'scan-type': 'T1', uri: '/archive/experiments/E1/scans/1', resources: [{ label: 'DICOM', directory: '/d1' }] },
    { id: '2', 'scan-type': 'T2', uri: '/archive/experiments/E1/scans/2', resources: [{ label: 'NIFTI', directory: '/n2' }] },
    { id: '3', 'scan-type': 'T1', uri: '/archive/experiments/E1/scans/3', resources: [{ label: 'DICOM', directory: '/d3' }] },
  ],
};

function command(): Command {
  const c = commandsFromText(JSON.stringify({
    name: 'ui-test', label: 'UI test', description: 'd', image: 'img:1', type: 'docker', 'command-metadata': { tier: 'gold' },
    'command-line': 'run #scan-id# #secret# #mode# #bids#',
    inputs: [
      { name: 'scan-id' },
      { name: 'secret', sensitive: true, 'default-value': 'hunter2-secret' },
      { name: 'mode', type: 'select-one', 'select-values': ['fast', 'slow'], 'default-value': 'fast', label: 'Mode' },
      { name: 'bids', type: 'boolean', 'default-value': 'false' },
    ],
    xnat: [{
      name: 'w', label: 'Wrapper label', description: 'wd',
      'external-inputs': [
        { name: 'token', type: 'string', sensitive: true, 'default-value': 'tok-s3cr3t', required: false },
        { name: 'session', type: 'Session', label: 'The session' },
      ],
      'derived-inputs': [
        { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "'DICOM' in @.resources[*].label" },
        { name: 'dicom', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'DICOM'" },
        { name: 'keyed', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == '#token#'", required: false },
        { name: 'sid', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id',
          'provides-value-for-command-input': 'scan-id' },
      ],
      'output-handlers': [],
    }],
  }))[0].command;
  c.id = 7;
  c.xnat[0].id = 3;
  return c;
}

const noConfig: CommandConfiguration = { inputs: {}, outputs: {} };

async function ui(c: Command, inputs: Record<string, string>, config = noConfig): Promise<LaunchUi> {
  const { explanation } = await preResolve({ command: c, wrapper: 3, inputs, source: new MemoryObjectSource(session) });
  return buildLaunchUi({ command: c, wrapperId: 3, config, explanation, swarmConstraints: null, enabled: true });
}

const cfg = (nodes: LaunchUiInputConfig[], name: string): LaunchUiInputConfig => {
  for (const n of nodes) {
    if (n.name === name) return n;
    const found = n.children.length > 0 ? (() => { try { return cfg(n.children, name); } catch { return undefined; } })() : undefined;
    if (found) return found;
  }
  throw new Error(`no config node ${name}`);
};
const val = (nodes: LaunchUiValuesNode[], name: string): LaunchUiValuesNode => {
  const n = nodes.find((x) => x.name === name);
  assert.ok(n, `no values node ${name} in ${nodes.map((x) => x.name).join(',')}`);
  return n;
};

test('meta and the input-config tree: derived inputs under their parents, fed command inputs hidden', async () => {
  const r = await ui(command(), { session: '/archive/experiments/E1' });
  assert.deepEqual(r.meta, {
    'command-id': 7, 'command-name': 'ui-test', 'command-label': 'UI test', 'command-description': 'd', 'command-metadata': { tier: 'gold' },
    'wrapper-id': 3, 'wrapper-name': 'w', 'wrapper-label': 'Wrapper label', 'wrapper-description': 'wd', 'image-name': 'img:1',
    'image-type': 'docker', enabled: true,
  });
  assert.deepEqual(r['container-server-config'], { 'swarm-constraints': null });
  assert.deepEqual(r['input-config'].map((n) => n.name), ['token', 'session', 'secret', 'mode', 'bids']);
  const s = cfg(r['input-config'], 'session');
  assert.equal(s.label, 'The session');
  assert.deepEqual(s.children.map((n) => n.name), ['scan']);
  assert.deepEqual(s.children[0].children.map((n) => n.name), ['dicom', 'keyed', 'sid'], 'scan-id is fed by sid, so it is not shown');
  const types = Object.fromEntries(['token', 'session', 'scan', 'dicom', 'keyed', 'sid', 'secret', 'mode', 'bids']
    .map((n) => [n, cfg(r['input-config'], n)['input-type']]));
  assert.deepEqual(types, {
    token: 'static', session: 'static', scan: 'select-one', dicom: 'static', keyed: 'text', sid: 'static',
    secret: 'password', mode: 'select-one', bids: 'boolean',
  });
  assert.deepEqual(cfg(r['input-config'], 'mode')['select-values'], ['fast', 'slow']);
  assert.equal(cfg(r['input-config'], 'mode').label, 'Mode');
  assert.equal(cfg(r['input-config'], 'bids').label, 'bids', 'label falls back to the name');
  assert.equal(cfg(r['input-config'], 'keyed').required, false);
  assert.equal(cfg(r['input-config'], 'scan').required, true);
  assert.equal(cfg(r['input-config'], 'secret').sensitive, true);
});

test('input-values: every candidate carries the values of its own children', async () => {
  const r = await ui(command(), { session: '/archive/experiments/E1' });
  const s = val(r['input-values'], 'session');
  assert.deepEqual(s.values.map((v) => [v.value, v.label]), [['/archive/experiments/E1', 'S1_MR1']]);
  const scan = val(s.values[0].children, 'scan');
  assert.deepEqual(scan.values.map((v) => [v.value, v.label]),
    [['/archive/experiments/E1/scans/1', '1 - T1'], ['/archive/experiments/E1/scans/3', '3 - T1']], 'scan 2 has no DICOM');
  // The second scan's resource is its own, not the first scan's (pre-resolution's flat list only has the first).
  assert.deepEqual(scan.values.map((v) => val(v.children, 'dicom').values.map((x) => x.value)),
    [['/archive/experiments/E1/scans/1/resources/DICOM'], ['/archive/experiments/E1/scans/3/resources/DICOM']]);
  assert.deepEqual(scan.values.map((v) => val(v.children, 'sid').values.map((x) => [x.value, x.label])), [[['1', '1']], [['3', '3']]]);
  assert.ok(scan.values.every((v) => !v.children.some((c) => c.name === 'scan-id')), 'fed command inputs are not listed');
  assert.deepEqual(val(r['input-values'], 'mode').values, [{ value: 'fast', label: 'fast', children: [] }]);
  assert.equal(scan.explanation, undefined, 'only inputs without values are explained');
});

test('sensitive values are masked, in values and in explanations', async () => {
  const r = await ui(command(), { session: '/archive/experiments/E1' });
  assert.deepEqual(val(r['input-values'], 'secret').values, [{ value: MASK, label: MASK, children: [] }]);
  assert.deepEqual(val(r['input-values'], 'token').values, [{ value: MASK, label: MASK, children: [] }]);
  const text = JSON.stringify(r);
  assert.ok(!text.includes('hunter2-secret') && !text.includes('tok-s3cr3t'), text);
  const keyed = val(val(val(r['input-values'], 'session').values[0].children, 'scan').values[0].children, 'keyed');
  assert.deepEqual(keyed.values, []);
  assert.equal(keyed.explanation?.matcher, `@.label == '${REDACTED}'`, 'inside text, a secret reads as the redaction mark');
  assert.deepEqual(keyed.explanation?.candidates.map((c) => [c.label, c.accepted]), [['DICOM', false]]);
  assert.ok((keyed.explanation?.candidates[0].reasons ?? []).length > 0, 'the rejection says why');
});

test('an input without candidates explains each rejection; configuration sets advanced and user-settable', async () => {
  const c = command();
  c.xnat[0]['derived-inputs'][0].matcher = "@.id == '2'";
  c.xnat[0]['derived-inputs'][1].required = false;
  c.xnat[0]['derived-inputs'][3].required = false;
  const config: CommandConfiguration = { inputs: { mode: { advanced: true, 'user-settable': false }, bids: { advanced: true } }, outputs: {} };
  const r = await ui(c, { session: '/archive/experiments/E1' }, config);
  const scan = val(val(r['input-values'], 'session').values[0].children, 'scan');
  assert.deepEqual(scan.values.map((v) => v.value), ['/archive/experiments/E1/scans/2']);
  assert.equal(cfg(r['input-config'], 'scan')['input-type'], 'static');
  const dicom = val(scan.values[0].children, 'dicom');
  assert.deepEqual(dicom.values, []);
  assert.deepEqual(dicom.explanation?.candidates.map((x) => [x.label, x.accepted]), [['NIFTI', false]]);
  assert.match(dicom.explanation?.candidates[0].reasons.join(' ') ?? '', /NIFTI/);
  assert.equal(cfg(r['input-config'], 'dicom')['input-type'], 'text', 'zero values somewhere, never several');
  assert.equal(cfg(r['input-config'], 'mode').advanced, true);
  assert.equal(cfg(r['input-config'], 'mode')['user-settable'], false);
  assert.equal(cfg(r['input-config'], 'mode')['input-type'], 'static', 'not user-settable');
  assert.equal(cfg(r['input-config'], 'bids')['input-type'], 'boolean');
  assert.equal(cfg(r['input-config'], 'secret').advanced, false);
});

test('select-many for a multiple derived input with several values; swarm constraints: user-settable only', async () => {
  const c = command();
  c.xnat[0]['derived-inputs'][0].multiple = true;
  c.xnat[0]['derived-inputs'][0]['provides-value-for-command-input'] = 'scan-id';
  c.xnat[0]['derived-inputs'].splice(1, 3);
  const { explanation } = await preResolve({ command: c, wrapper: 3, inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(session) });
  const r = buildLaunchUi({ command: c, wrapperId: 3, config: noConfig, explanation, enabled: false, swarmConstraints: [
    { 'user-settable': true, attribute: 'node.role', comparator: '==', values: ['worker'] },
    { 'user-settable': false, attribute: 'node.hostname', comparator: '!=', values: ['a'] },
  ] });
  assert.equal(cfg(r['input-config'], 'scan')['input-type'], 'select-many');
  assert.equal(cfg(r['input-config'], 'scan').multiple, true);
  assert.deepEqual(cfg(r['input-config'], 'scan').children, []);
  assert.equal(r.meta.enabled, false);
  assert.deepEqual(r['container-server-config'], { 'swarm-constraints': [{ attribute: 'node.role', comparator: '==', values: ['worker'] }] });
});

test('an explanation from another wrapper is refused instead of mislabelling values', async () => {
  const c = command();
  const { explanation } = await preResolve({ command: c, wrapper: 3, inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(session) });
  explanation.inputs.splice(1, 1);
  assert.throws(() => buildLaunchUi({ command: c, wrapperId: 3, config: noConfig, explanation, swarmConstraints: null, enabled: true }),
    (e: Error & { code?: string }) => e.code === 'launch-ui.explanation-mismatch');
});
