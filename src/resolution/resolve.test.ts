import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '../command/model.ts';
import { commandsFromText } from './load-command.ts';
import { MemoryObjectSource } from './memory-source.ts';
import { parseImageCommandRef } from './image-ref.ts';
import { preResolve, resolveCommand, resolveWithExplanation, ResolutionError, type ResolveArgs } from './resolve/index.ts';

function cmd(c: Record<string, unknown>): Command {
  return commandsFromText(JSON.stringify({ name: 't', image: 'img:1', type: 'docker', ...c }))[0].command;
}

const session = {
  type: 'Session', id: 'E1', label: 'S1_MR1', 'project-id': 'P', xsiType: 'xnat:mrSessionData',
  uri: '/archive/experiments/E1', directory: '/data/archive/P/arc001/S1_MR1',
  scans: [
    { id: '1', 'scan-type': 'T1', uri: '/archive/experiments/E1/scans/1', directory: '/data/archive/P/arc001/S1_MR1/SCANS/1',
      resources: [{ label: 'DICOM', directory: '/data/archive/P/arc001/S1_MR1/SCANS/1/DICOM', files: [{ name: 'a.dcm' }, { name: 'b.dcm' }] }] },
    { id: '2', 'scan-type': 'T2', uri: '/archive/experiments/E1/scans/2', resources: [{ label: 'NIFTI', directory: '/n' }] },
    { id: '3', 'scan-type': 'T1', uri: '/archive/experiments/E1/scans/3', directory: '/d3s', resources: [{ label: 'DICOM', directory: '/d3' }] },
  ],
};

async function resolve(c: Command, inputs: Record<string, string>, extra: Partial<ResolveArgs> = {}) {
  return resolveCommand({ command: c, wrapper: c.xnat[0]?.name ?? 'w', inputs, source: new MemoryObjectSource(session), ...extra });
}

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<ResolutionError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ResolutionError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail('expected a failure');
}

const scanWrapper = (extra: Record<string, unknown> = {}) => ({
  name: 'w',
  'external-inputs': [{ name: 'session', type: 'Session' }],
  'derived-inputs': [{ name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "'DICOM' in @.resources[*].label", ...extra }],
  'output-handlers': [],
});

test('§2.9 command-line formatting of single values: flags, separators, booleans, blanks', async () => {
  const c = cmd({
    'command-line': 'run #a# #b# #c# #d# #e# #f#',
    inputs: [
      { name: 'a', 'command-line-flag': '--a', 'default-value': 'x' },
      { name: 'b', 'command-line-flag': '--b', 'command-line-separator': '=', 'default-value': 'y' },
      { name: 'c', 'command-line-flag': '-c', 'command-line-separator': '', 'default-value': 'z' },
      { name: 'd', 'command-line-flag': '--d' },
      { name: 'e', type: 'boolean', 'true-value': 'on', 'false-value': 'off', 'default-value': 'TRUE' },
      { name: 'f', type: 'boolean', 'true-value': '--yes', 'false-value': '' },
    ],
    xnat: [{ name: 'w' }],
  });
  const r = await resolve(c, {});
  assert.equal(r['command-line'], 'run --a x --b=y -cz  on ');
  assert.deepEqual(r['command-input-values'].map((v) => `${v.name}=${v.value}`), ['a=x', 'b=y', 'c=z', 'd=null', 'e=on', 'f=']);
  const r2 = await resolve(c, { e: 'false', f: 'true', a: 'given' });
  assert.equal(r2['command-line'], 'run --a given --b=y -cz  off --yes');
});

test('§2.9 select-many JSON default and every multiple-delimiter form', async () => {
  const make = (flag: string | null, sep: string | null, delim: string) =>
    cmd({
      'command-line': 'x #v#',
      inputs: [{ name: 'v', type: 'select-many', 'select-values': ['scan1', 'scan2'], 'default-value': '["scan1","scan2"]', 'command-line-flag': flag, 'command-line-separator': sep, 'multiple-delimiter': delim }],
      xnat: [{ name: 'w' }],
    });
  const cases: [string | null, string | null, string, string][] = [
    ['--flag', '=', 'flag', 'x --flag=scan1 --flag=scan2'],
    ['--flag', null, 'flag', 'x --flag scan1 --flag scan2'],
    [null, null, 'quoted-space', "x 'scan1 scan2'"],
    ['--flag', '=', 'quoted-space', "x --flag='scan1 scan2'"],
    [null, null, 'comma', 'x scan1,scan2'],
    ['-alt', ' ', 'comma', 'x -alt scan1,scan2'],
    [null, null, 'space', 'x scan1 scan2'],
  ];
  for (const [flag, sep, delim, expected] of cases) assert.equal((await resolve(make(flag, sep, delim), {}))['command-line'], expected, `${flag} ${sep} ${delim}`);
});

test('§2.4/2.5 external session, derived scan by matcher, property values and the explanation', async () => {
  const c = cmd({
    'command-line': 'run #scan-id# #label#',
    inputs: [{ name: 'scan-id', 'command-line-flag': '--scan' }, { name: 'label' }],
    mounts: [{ name: 'in', path: '/input' }],
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'session', type: 'Session' }],
      'derived-inputs': [
        { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "'DICOM' in @.resources[*].label && @.scan-type == 'T1'", 'provides-files-for-command-mount': 'in' },
        { name: 'scan-id', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'scan-id' },
        { name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session', 'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' },
      ],
    }],
  });
  // Two T1 scans with DICOM: ambiguous unless the user names one.
  await rejects(resolve(c, { session: '/archive/experiments/E1' }), 'resolution.input.ambiguous', /"scan" {2}does not have a unique/);
  const { resolved, explanation } = await resolveWithExplanation({ command: c, wrapper: 'w', inputs: { session: '/archive/experiments/E1', scan: '3' }, source: new MemoryObjectSource(session) });
  assert.equal(resolved['command-line'], 'run --scan 3 S1_MR1');
  assert.equal(resolved.mounts[0]['xnat-host-path'], '/d3s');
  const scanEx = explanation.inputs.find((i) => i.name === 'scan');
  assert.ok(scanEx);
  const rejected = scanEx.candidates.find((x) => x.uri === '/archive/experiments/E1/scans/2');
  assert.equal(rejected?.accepted, false);
  assert.ok(rejected?.reasons.some((r) => r.includes("@.id == '3'")));
  // Given as the object's JSON instead of a URI.
  const r = await resolve(c, { session: JSON.stringify(session), scan: '1' });
  assert.equal(r['command-line'], 'run --scan 1 S1_MR1');
});

test('§2.8 errors: unresolved, missing required, and required defaults (wrapper inputs required, command inputs not)', async () => {
  const c = cmd({ 'command-line': 'x', xnat: [scanWrapper({ matcher: "'PET' in @.resources[*].label" })] });
  const e = await rejects(resolve(c, { session: '/archive/experiments/E1' }), 'resolution.input.unresolved', /Input "scan" could not be resolved for this item.*has Scan data/);
  assert.equal(e.path, 'scan');
  assert.equal(e.explanation.inputs.find((i) => i.name === 'scan')?.candidates.length, 3, 'explanation survives the failure');
  const only = cmd({ 'command-line': 'x', xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }, { name: 'other', type: 'string' }] }] });
  await rejects(resolve(only, {}), 'resolution.input.missing', /^Missing values for required inputs: session, other\.$/);
  const optional = cmd({ 'command-line': 'x #scan#', xnat: [scanWrapper({ matcher: "'PET' in @.resources[*].label", required: false })] });
  assert.equal((await resolve(optional, { session: '/archive/experiments/E1' }))['command-line'], 'x ', 'deviation: unresolved wrapper key blanked');
  const ci = cmd({ 'command-line': 'x #a#', inputs: [{ name: 'a', required: true }], xnat: [{ name: 'w' }] });
  await rejects(resolve(ci, {}), 'resolution.input.missing', /input: a\./);
});

test('§2.8 multiple derived input renders its values; deviation: delimiter used outside the command line too', async () => {
  const c = cmd({
    'command-line': 'x #ids#',
    'environment-variables': { IDS: '#ids#', SCANS: '#scans#' },
    inputs: [{ name: 'ids', 'command-line-flag': '--id', 'command-line-separator': '=', 'multiple-delimiter': 'flag' }],
    xnat: [scanWrapper({ name: 'scans', multiple: true, 'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'ids' })],
  });
  const r = await resolve(c, { session: '/archive/experiments/E1' });
  assert.equal(r['command-line'], 'x --id=1 --id=3');
  assert.deepEqual(r['environment-variables'], { IDS: '1 3', SCANS: '1 3' });
  assert.equal(r['derived-input-values'].find((v) => v.name === 'scans')?.value, '1, 3');
  assert.equal(r['command-input-values'][0].value, '1 3');
});

test('deviation: wrapper-input keys are replaced in the command line; ^...^ spans evaluated non-greedily', async () => {
  const c = cmd({
    'command-line': 'run #session# ^$.name^ ^wrapper:$.name^ #mode#',
    inputs: [{ name: 'mode', 'default-value': "^wrapper:$.external-inputs[?(@.name == 'session')].type^" }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }] }],
  });
  const r = await resolve(c, { session: '/archive/experiments/E1' });
  assert.equal(r['command-line'], 'run /archive/experiments/E1 t w Session');
});

test('matchers are templated before parsing (@.scan-type in [#T1-scantype#])', async () => {
  const c = cmd({
    'command-line': 'x',
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'T1-scantype', type: 'string', 'default-value': '"T1", "MPRAGE"' }, { name: 'session', type: 'Session' }],
      'derived-inputs': [{ name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "@.scan-type in [#T1-scantype#] && 'NIFTI' in @.resources[*].label", multiple: false }],
    }],
  });
  await rejects(resolve(c, { session: '/archive/experiments/E1' }), 'resolution.input.unresolved');
  const r = await resolve(c, { session: '/archive/experiments/E1', 'T1-scantype': '"T2"' });
  assert.equal(r['derived-input-values'][0].value, '/archive/experiments/E1/scans/2');
});

test('refused values: every input kind (command-line flag, env, mount path) and every character', async () => {
  const c = cmd({
    'command-line': 'run #arg#',
    'environment-variables': { LABEL: '#label#' },
    mounts: [{ name: 'out', path: '/out/#label#', writable: true }],
    inputs: [{ name: 'arg', 'command-line-flag': '--arg' }, { name: 'label' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 'ext', type: 'string', required: false }] }],
  });
  for (const bad of [';', '&&', '||', '`', '(', '|', '&', '$', ')', '<', '>', '\n', '\r', '\0']) {
    for (const name of ['arg', 'label', 'ext']) {
      const e = await rejects(resolve(c, { [name]: `a${bad}b` }), 'resolution.input.illegal-value');
      assert.equal(e.path, name);
      assert.ok(e.message.startsWith(`Input "${name}" has a value containing illegal string`), e.message);
    }
  }
  // An archive property carrying such characters is refused too.
  const tree = { ...session, label: 'S1$(id)' };
  const d = cmd({ 'command-line': 'x #l#', inputs: [{ name: 'l' }], xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }], 'derived-inputs': [{ name: 'lab', type: 'string', 'derived-from-wrapper-input': 'session', 'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'l' }] }] });
  await rejects(resolveCommand({ command: d, wrapper: 'w', inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(tree) }), 'resolution.input.illegal-value', /^Input "lab" has a value containing illegal string "\("/);
});

test('§2.13 mounts: archive directory read-only, writable copied to a build dir, output build dir, prefix-only translation', async () => {
  const c = cmd({
    'command-line': 'x',
    mounts: [{ name: 'in', path: '/input' }, { name: 'rw', path: '/work', writable: true }, { name: 'out', path: '/output', writable: true }],
    outputs: [{ name: 'o', mount: 'out', path: 'sub', glob: '*.nii.gz' }],
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'session', type: 'Session', 'provides-files-for-command-mount': 'in' }],
      'derived-inputs': [{ name: 'res', type: 'Resource', 'derived-from-wrapper-input': 'session', required: false }],
      'output-handlers': [{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'session', label: 'OUT_#session#', tags: ['t-#session#'] }],
    }],
  });
  c.xnat[0]['external-inputs'].push({ ...c.xnat[0]['external-inputs'][0], name: 'again', 'provides-files-for-command-mount': 'rw' });
  let n = 0;
  const r = await resolve(c, { session: '/archive/experiments/E1', again: 'E1' }, {
    options: { buildDir: () => `/data/build/b${++n}`, pathTranslation: { xnatPrefix: '/data', dockerPrefix: '/mnt/data' } },
  });
  const [inM, rw, out] = r.mounts;
  assert.deepEqual([inM.writable, inM['xnat-host-path'], inM['container-host-path']], [false, '/data/archive/P/arc001/S1_MR1', '/mnt/data/archive/P/arc001/S1_MR1']);
  assert.deepEqual([rw.writable, rw['xnat-host-path'], rw['copy-from']], [true, '/data/build/b1', '/data/archive/P/arc001/S1_MR1']);
  assert.deepEqual([out.writable, out['container-path'], out['container-host-path']], [true, '/output', '/mnt/data/build/b2']);
  // Deviation: prefix only — "/data" elsewhere in the path is kept.
  const t = await resolveCommand({ command: c, wrapper: 'w', inputs: { session: '/archive/experiments/E1', again: 'E1' }, source: new MemoryObjectSource(session), options: { buildDir: () => '/data/x/data/y', pathTranslation: { xnatPrefix: '/data', dockerPrefix: '/m' } } });
  assert.equal(t.mounts[1]['container-host-path'], '/m/x/data/y');
  // Outputs: handler label and tags templated; glob carried (deviation: honoured).
  assert.deepEqual(
    { name: r.outputs[0].name, label: r.outputs[0].label, tags: r.outputs[0].tags, glob: r.outputs[0].glob, path: r.outputs[0].path, by: r.outputs[0]['handled-by'] },
    { name: 'o:h', label: 'OUT_/archive/experiments/E1', tags: ['t-/archive/experiments/E1'], glob: '*.nii.gz', path: 'sub', by: 'session' },
  );
});

test('§2.12 output handler checks', async () => {
  const base = { 'command-line': 'x', mounts: [{ name: 'out', path: '/o', writable: true }], outputs: [{ name: 'o', mount: 'out', required: true }] };
  const w = (handlers: unknown[]) => [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }], 'output-handlers': handlers }];
  await rejects(resolve(cmd({ ...base, xnat: w([]) }), { session: 'E1' }), 'resolution.output.no-handler', /command output "o"/);
  await rejects(resolve(cmd({ ...base, xnat: w([{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'nope', label: 'L' }]) }), { session: 'E1' }), 'resolution.output.target');
  await rejects(
    resolve(cmd({ ...base, xnat: w([{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'session', label: 'L' }]) }), { session: 'E1' }, { source: new MemoryObjectSource(session, { canEdit: () => false }), user: 'bob' }),
    'resolution.output.forbidden',
    /User "bob" does not have sufficient permissions to create the output Resource\./,
  );
  const chained = cmd({ ...base, xnat: w([{ name: 'a', 'accepts-command-output': 'o', 'as-a-child-of': 'session', type: 'Assessor' }, { name: 'r', 'accepts-command-output': 'o', 'as-a-child-of': 'a', label: 'L' }]) });
  assert.deepEqual((await resolve(chained, { session: 'E1' })).outputs.map((o) => o.name), ['o:a', 'o:r']);
});

test('§2.4 URI permission and lookup errors', async () => {
  const c = cmd({ 'command-line': 'x', xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }] }] });
  await rejects(resolve(c, { session: '/archive/experiments/NOPE' }), 'resolution.input.invalid-uri', /^Invalid Session uri \/archive\/experiments\/NOPE$/);
  await rejects(resolve(c, { session: '/experiments/E1' }, { source: new MemoryObjectSource(session, { canRead: () => false }) }), 'resolution.input.forbidden', /permission to read Session/);
  await rejects(resolve(c, { session: 'NOPE' }), 'resolution.input.not-found', /Could not instantiate Session by ID NOPE/);
});

test('§2.14 setup and wrapup commands (looked up through the injected function); deviation: registry:port references', async () => {
  assert.deepEqual(parseImageCommandRef('registry:5000/repo/img:tag:cmd'), { image: 'registry:5000/repo/img:tag', commandName: 'cmd' });
  assert.deepEqual(parseImageCommandRef('repo/img:tag'), { image: 'repo/img:tag', commandName: null });
  const setup = cmd({ name: 'cmd', image: 'registry:5000/repo/img:tag', type: 'docker-setup', 'command-line': 'prep #flag#' });
  const wrapup = cmd({ name: 'wrap', image: 'w/img:1', type: 'docker-wrapup', 'command-line': 'finish' });
  const c = cmd({
    'command-line': 'x #flag#',
    'environment-variables': { E: 'v' },
    inputs: [{ name: 'flag', 'default-value': 'f', 'command-line-flag': '-f' }],
    mounts: [{ name: 'in', path: '/in' }, { name: 'out', path: '/out', writable: true }],
    outputs: [{ name: 'o', mount: 'out' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session', 'provides-files-for-command-mount': 'in', 'via-setup-command': 'registry:5000/repo/img:tag:cmd' }], 'output-handlers': [{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'session', type: 'Assessor', 'via-wrapup-command': 'w/img:1:wrap' }] }],
  });
  const seen: string[] = [];
  const r = await resolve(c, { session: 'E1' }, { options: { findCommandByImage: (ref) => (seen.push(ref), ref.startsWith('registry') ? setup : wrapup), buildDir: (p) => `/b/${p.replace(/ /g, '-')}` } });
  assert.deepEqual(seen, ['registry:5000/repo/img:tag:cmd', 'w/img:1:wrap']);
  const s = r['setup-commands'][0];
  assert.equal(s['command-line'], 'prep -f f');
  assert.equal(s['parent-source-object-name'], 'in');
  assert.deepEqual(s.mounts.map((m) => [m.name, m['container-path'], m['xnat-host-path'], m.writable]), [['input', '/input', '/data/archive/P/arc001/S1_MR1', false], ['output', '/output', '/b/setup-in', true]]);
  assert.equal(r.mounts[0]['xnat-host-path'], '/b/setup-in', 'main mount reads the setup output');
  assert.deepEqual(s['environment-variables'], { E: 'v' });
  const w = r['wrapup-commands'][0];
  assert.equal(w['parent-source-object-name'], 'o:h');
  assert.equal(w.mounts[0]['xnat-host-path'], r.mounts[1]['xnat-host-path']);
  await rejects(resolve(c, { session: 'E1' }, { options: { findCommandByImage: () => null } }), 'resolution.setup.not-found', /Could not find a command with name cmd for image registry:5000\/repo\/img:tag/);
  await rejects(resolve(c, { session: 'E1' }, { options: { findCommandByImage: () => wrapup } }), 'resolution.setup.type', /expected it to have type docker-setup/);
});

test('§2.15 swarm constraints', async () => {
  const c = cmd({ 'command-line': 'x', xnat: [{ name: 'w' }] });
  const swarmConstraints = [
    { 'user-settable': false, attribute: 'node.role', comparator: '==', values: ['manager'] },
    { 'user-settable': true, attribute: 'node.labels.cstesttype', comparator: '==', values: ['Fun', 'Boring'] },
  ];
  assert.equal((await resolve(c, {}, { options: { swarmConstraints } }))['swarm-constraints'], null, 'docker backend: none');
  assert.deepEqual((await resolve(c, {}, { options: { backend: 'swarm', swarmConstraints } }))['swarm-constraints'], ['node.role==manager', 'node.labels.cstesttype==Fun']);
  const pick = JSON.stringify([{ attribute: 'node.labels.cstesttype', value: 'Boring' }]);
  assert.deepEqual((await resolve(c, { 'swarm-constraints': pick }, { options: { backend: 'swarm', swarmConstraints } }))['swarm-constraints'], ['node.role==manager', 'node.labels.cstesttype==Boring']);
  const bad = JSON.stringify([{ attribute: 'node.labels.cstesttype', value: 'Other' }]);
  assert.deepEqual((await resolve(c, { 'swarm-constraints': bad }, { options: { backend: 'swarm', swarmConstraints } }))['swarm-constraints'], ['node.role==manager']);
});

test('XCS: Slurm partition/account/QoS chosen at launch among the site\'s allowed values', async () => {
  const c = cmd({ 'command-line': 'x', xnat: [{ name: 'w' }] });
  const slurmUserSettable = { partition: ['short', 'gpu'] };
  const on = { options: { backend: 'slurm' as const, slurmUserSettable } };
  assert.equal((await resolve(c, {}, on))['slurm-placement'], null, 'nothing chosen: the server\'s defaults');
  assert.deepEqual((await resolve(c, { 'slurm-partition': ' gpu ' }, on))['slurm-placement'], { partition: 'gpu' });
  const refused = await rejects(resolve(c, { 'slurm-partition': 'debug' }, on), 'resolution.slurm-placement', /"slurm-partition" must be one of "short", "gpu"/);
  assert.equal(refused.path, 'slurm-partition');
  await rejects(resolve(c, { 'slurm-qos': 'high' }, on), 'resolution.slurm-placement', /does not let users choose the Slurm qos/);
  await rejects(resolve(c, { 'slurm-partition': 'gpu' }, { options: { slurmUserSettable } }), 'resolution.slurm-placement', /slurm backend only/);
});

test('XCS: a command\'s own input named slurm-partition (or -account, -qos) stays the command\'s, never a placement choice', async () => {
  // A command input, a wrapper external input and a derived input, each taking one of the names.
  const c = cmd({
    'command-line': 'run #P# #A#',
    inputs: [{ name: 'slurm-partition', 'replacement-key': '#P#' }, { name: 'a', 'replacement-key': '#A#' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 'slurm-account', type: 'string', required: false, 'provides-value-for-command-input': 'a' }] }],
  });
  const slurmUserSettable = { partition: ['short', 'gpu'], account: ['lab1'], qos: ['high'] };
  const on = { options: { backend: 'slurm' as const, slurmUserSettable } };
  // Values the site would refuse as choices are the command's to take: no refusal, no placement.
  const r = await resolve(c, { 'slurm-partition': 'debug', 'slurm-account': 'physics' }, on);
  assert.equal(r['command-line'], 'run debug physics');
  assert.equal(r['slurm-placement'], null);
  // The name left free is still a choice, checked as before.
  assert.deepEqual((await resolve(c, { 'slurm-qos': 'high' }, on))['slurm-placement'], { qos: 'high' });
  await rejects(resolve(c, { 'slurm-qos': 'low' }, on), 'resolution.slurm-placement', /"slurm-qos" must be one of "high"/);
  // On another backend the command's inputs are plain inputs too.
  assert.equal((await resolve(c, { 'slurm-partition': 'x', 'slurm-account': 'y' }))['command-line'], 'run x y');
  const derived = cmd({ 'command-line': 'x', xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }],
    'derived-inputs': [{ name: 'slurm-qos', type: 'string', 'derived-from-wrapper-input': 'session', 'derived-from-xnat-object-property': 'label' }] }] });
  assert.equal((await resolve(derived, { session: '/archive/experiments/E1' }, on))['slurm-placement'], null);
});

test('§2.16 inputs may not name a secret destination; §2.3 derived inputs must follow their parent', async () => {
  const c = cmd({ 'command-line': 'x', inputs: [{ name: 'a' }], secrets: [{ source: { type: 'system-property', identifier: 'p' }, destination: { type: 'environment-variable', identifier: 'TOKEN' } }], xnat: [{ name: 'w' }] });
  await rejects(resolve(c, { a: 'echo TOKEN' }), 'resolution.input.secret', /Input "a" resolved value "echo TOKEN" refers to secret destination "TOKEN"/);
  const out = cmd({ 'command-line': 'x', xnat: [{ name: 'w', 'derived-inputs': [{ name: 'd', type: 'string', 'derived-from-wrapper-input': 'later' }], 'external-inputs': [] }] });
  await rejects(resolve(out, {}), 'resolution.input.order', /Derived input "d" claims parent "later", but I couldn't find "later"\. Are the inputs out of order\?/);
});

test('pre-resolution lists candidates without failing on ambiguity; laziness: only needed children load', async () => {
  const c = cmd({ 'command-line': 'x', xnat: [scanWrapper()] });
  const pre = await preResolve({ command: c, wrapper: 'w', inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(session) });
  assert.deepEqual(pre.inputs.find((i) => i.name === 'scan')?.values.map((v) => v.value), ['/archive/experiments/E1/scans/1', '/archive/experiments/E1/scans/3']);
  const none = cmd({ 'command-line': 'x', xnat: [scanWrapper({ matcher: "'PET' in @.resources[*].label" })] });
  await assert.rejects(preResolve({ command: none, wrapper: 'w', inputs: { session: '/archive/experiments/E1' }, source: new MemoryObjectSource(session) }), /The following required fields cannot be resolved using the provided data: scan/);
  const src = new MemoryObjectSource(session);
  const plain = cmd({ 'command-line': 'x #session#', xnat: [{ name: 'w', 'external-inputs': [{ name: 'session', type: 'Session' }] }] });
  await resolveCommand({ command: plain, wrapper: 'w', inputs: { session: '/archive/experiments/E1' }, source: src });
  assert.equal(src.loads, 1, 'a session-only wrapper loads the session and nothing else');
});
