import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandValue, type Command } from '../command/index.ts';
import { strictWarnings } from './strict.ts';

function command(raw: Record<string, unknown>): Command {
  const r = parseCommandValue(raw);
  const c = r.commands[0]?.command;
  assert.ok(c, JSON.stringify(r.commands[0]?.errors ?? r.errors));
  return c;
}

const clean = {
  name: 'clean', image: 'my/tool:1.0', 'command-line': 'tool [MODE] /in /out', 'reserve-memory': 100, 'limit-memory': 200,
  mounts: [{ name: 'in', path: '/in' }, { name: 'out', path: '/out', writable: true }],
  inputs: [{ name: 'mode', 'replacement-key': '[MODE]' }],
  outputs: [{ name: 'o', mount: 'out', glob: '*.nii' }],
  xnat: [{
    name: 'w', contexts: ['xnat:mrSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', matcher: "@.xsiType == 'xnat:mrSessionData'", 'provides-files-for-command-mount': 'in' }],
    'output-handlers': [{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'session', label: 'NII' }],
  }],
};

test('a command that follows the guide gets no strict warning', () => {
  assert.deepEqual(strictWarnings(command(clean)), []);
});

test('each best-practice problem is reported at its JSON path with a fix', () => {
  const bad = structuredClone(clean) as Record<string, any>;
  delete bad['reserve-memory'];
  delete bad['limit-memory'];
  bad.image = 'my/tool:latest';
  bad.inputs.push({ name: 'unused' });
  bad.outputs[0].glob = null;
  bad.xnat[0].contexts = ['xnat:mrSesionData', 'xnat:ctSessionData', 'xnat:imageScanData'];
  const got = strictWarnings(command(bad));
  const byCode = new Map(got.map((w) => [w.code, w]));
  assert.equal(byCode.get('strict.memory.reservation')?.path, '/reserve-memory');
  assert.equal(byCode.get('strict.memory.limit')?.path, '/limit-memory');
  assert.equal(byCode.get('strict.image.latest')?.path, '/image');
  assert.equal(byCode.get('strict.input.unused')?.path, '/inputs/1');
  assert.equal(byCode.get('strict.output.no-glob')?.path, '/outputs/0');
  const unknown = byCode.get('strict.context.unknown');
  assert.equal(unknown?.path, '/xnat/0/contexts/0');
  assert.match(unknown?.message ?? '', /did you mean "xnat:mrSessionData"/);
  assert.match(byCode.get('strict.context.no-input')?.message ?? '', /xnat:imageScanData/);
  const never = byCode.get('strict.matcher.never');
  assert.equal(never?.path, '/xnat/0/external-inputs/0/matcher');
  assert.match(never?.message ?? '', /xnat:ctSessionData/);
  for (const w of got) assert.ok(w.fix.length > 0, `${w.code} has a fix`);
});
