/**
 * Rules for the XCS addition `xcs-tests` (test cases run by `xcs test`). XNAT ignores the key, so these
 * rules only concern commands that use it: a test case must name things the command has, so that a
 * typo fails here instead of as a confusing run.
 */
import { type DiagnosticSink, listOf, q } from './diagnostics.ts';
import type { Command } from './model.ts';

const MD5 = /^[0-9a-f]{32}$/i;

export function validateTests(cmd: Command, sink: DiagnosticSink): void {
  const tests = cmd['xcs-tests'];
  if (tests === null) return;
  if (cmd.type !== 'docker') {
    sink.warning('/xcs-tests', 'command.tests.ignored', `${cmd.type} commands are run by the command that uses them; test that command instead`);
    return;
  }
  const names = new Set<string>();
  const mounts = cmd.mounts.map((m) => m.name);
  tests.forEach((t, i) => {
    const at = `/xcs-tests/${i}`;
    if (t.name.trim() === '') sink.error(`${at}/name`, 'command.tests.name.blank', 'a test case needs a name (shown in the xcs test summary)');
    else if (names.has(t.name)) sink.error(`${at}/name`, 'command.tests.name.duplicate', `test case name ${q(t.name)} is used twice`);
    names.add(t.name);
    let wrapper = cmd.xnat.length === 1 ? cmd.xnat[0] : undefined;
    if (t.wrapper !== null) {
      wrapper = cmd.xnat.find((w) => w.name === t.wrapper);
      if (!wrapper) sink.error(`${at}/wrapper`, 'command.tests.wrapper.unknown', `the command has no wrapper ${q(t.wrapper)}; use one of ${listOf(cmd.xnat.map((w) => w.name))}`);
    } else if (cmd.xnat.length > 1) {
      sink.error(`${at}/wrapper`, 'command.tests.wrapper.choose', `the command has ${cmd.xnat.length} wrappers; say which one the test runs: ${listOf(cmd.xnat.map((w) => w.name))}`);
    }
    const inputNames = [...cmd.inputs.map((x) => x.name), ...(wrapper ? [...wrapper['external-inputs'], ...wrapper['derived-inputs']].map((x) => x.name) : [])];
    for (const name of Object.keys(t.inputs)) {
      if (!inputNames.includes(name)) sink.error(`${at}/inputs/${name}`, 'command.tests.input.unknown', `the command has no input ${q(name)}; inputs: ${listOf(inputNames)}`);
    }
    for (const [name, dir] of Object.entries(t.mounts)) {
      if (!mounts.includes(name)) sink.error(`${at}/mounts/${name}`, 'command.tests.mount.unknown', `the command has no mount ${q(name)}; mounts: ${listOf(mounts)}`);
      if (dir.startsWith('/')) sink.warning(`${at}/mounts/${name}`, 'command.tests.mount.absolute', `fixture folder ${q(dir)} is absolute; make it relative to the command file so the test runs anywhere`);
    }
    if (!Number.isInteger(t['exit-code']) || t['exit-code'] < 0 || t['exit-code'] > 255) {
      sink.error(`${at}/exit-code`, 'command.tests.exit-code.invalid', `exit-code must be an integer from 0 to 255, not ${t['exit-code']}`);
    }
    t.outputs.forEach((o, j) => {
      const oat = `${at}/outputs/${j}`;
      const segments = o.path.split('/').filter((s) => s !== '' && s !== '.');
      if (segments.length === 0) sink.error(`${oat}/path`, 'command.tests.output.blank', 'an expected output needs a path: a mount name, then a file or glob, e.g. "output/*.nii"');
      else if (o.path.startsWith('/') || segments.includes('..')) sink.error(`${oat}/path`, 'command.tests.output.outside', `path ${q(o.path)} must stay inside the output folder (relative, no "..")`);
      else if (!mounts.includes(segments[0]) && !segments[0].startsWith('wrapup-')) {
        sink.warning(`${oat}/path`, 'command.tests.output.mount', `path ${q(o.path)} does not start with a mount name (${listOf(mounts)}); it is looked up under the test's output folder`);
      }
      if (o.md5 !== null && !MD5.test(o.md5)) sink.error(`${oat}/md5`, 'command.tests.output.md5', `md5 must be 32 hexadecimal digits, not ${q(o.md5)}`);
      if (o.matches !== null) {
        try {
          new RegExp(o.matches, 'm');
        } catch (e) {
          sink.error(`${oat}/matches`, 'command.tests.output.matches', `matches is not a regular expression: ${(e as Error).message}`);
        }
      }
    });
  });
}
