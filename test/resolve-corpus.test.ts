/**
 * Every corpus command with a wrapper resolves against the archive a user would launch it on
 * (generated from its inputs and matchers by `helpers/corpus-archive.ts`), with the values a user would
 * type; the results carry no unreplaced keys and no impossible mounts or outputs. The wrappers that
 * cannot resolve are listed below with the reason, each a fault of the command that XNAT shares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandsFromText } from '../src/resolution/load-command.ts';
import { MemoryObjectSource } from '../src/resolution/memory-source.ts';
import { resolveCommand, ResolutionError } from '../src/resolution/resolve/index.ts';
import { replacementKeyOf, type Command, type CommandWrapper } from '../src/command/model.ts';
import type { ResolvedCommand } from '../src/resolution/types.ts';
import { generateLaunch, type Obj } from './helpers/corpus-archive.ts';

const corpus = fileURLToPath(new URL('./corpus/commands/', import.meta.url));

interface ExpectedFailure {
  file: string;
  wrapper: string;
  code: string;
  reason: string;
}

const SUBJECT_MOUNT =
  'mounts a Subject: XNAT subjects have no archive directory (§2.2) and Subject is not a mountable type (§1.9, §2.13), so XNAT refuses this wrapper at launch with the same message';

/** Reviewed: each is a fault in the command itself, and XNAT fails on it too. */
const EXPECTED_FAILURES: ExpectedFailure[] = [
  ...[
    'NrgXnat__docker-images__debug-setup-command__Dockerfile.main.label.json',
    'NrgXnat__docker-images__debug-setup-command__command-with-setup-command.json',
  ].map((file) => ({ file, wrapper: 'debug-subject-with-setup', code: 'resolution.mount.type', reason: SUBJECT_MOUNT })),
  { file: 'NrgXnat__docker-images__debug-setup-wrapup__debug-with-setup-wrapup.json', wrapper: 'debug-subject-with-setup-wrapup', code: 'resolution.mount.type', reason: SUBJECT_MOUNT },
  ...[
    'NrgXnat__docker-images__debug-wrapup-command__Dockerfile.main.label.json',
    'NrgXnat__docker-images__debug-wrapup-command__command-with-wrapup-command.json',
  ].map((file) => ({ file, wrapper: 'debug-subject-with-wrapup', code: 'resolution.mount.type', reason: SUBJECT_MOUNT })),
  ...['NrgXnat__docker-images__ecat-dump__Dockerfile.label.json', 'NrgXnat__docker-images__ecat-dump__command.json'].map((file) => ({
    file,
    wrapper: 'ecat-dump-scan',
    code: 'resolution.input.order',
    reason: 'derived input "scan-ecat-file" names parent "scan-ecats", which does not exist (a typo for "scan-ecat")',
  })),
  {
    file: 'NrgXnat__docker-images__niftyreg__Dockerfile.label.json',
    wrapper: 'niftyreg-session',
    code: 'resolution.input.unresolved',
    reason: '"ref-scan-id" reads property "ID", but a Scan\'s JSON key is "id" (JSONPath is case-sensitive); the command.json of the same image says "id"',
  },
  {
    file: 'NrgXnat__docker-images__recon-all__command.json',
    wrapper: 'freesurfer-session',
    code: 'resolution.input.order',
    reason: 'derived input "project" names its parent with "parent" instead of "derived-from-wrapper-input", so it has no parent (the file is not even valid JSON)',
  },
  {
    file: 'brown-bnc__xnat-dicom2bids-session__command.json',
    wrapper: 'dcm2bids-session-session',
    code: 'resolution.input.unresolved',
    reason: '"bidsmap_dev_fname" is a File derived from a File; XNAT derives Files only from Resources (§2.5), so it never has a value (a string input with property "name" was meant)',
  },
  ...['zswgzx__radc__xnat__docker__mriqc_radc__Dockerfile.label.json', 'zswgzx__radc__xnat__docker__mriqc_radc__command.json'].map((file) => ({
    file,
    wrapper: 'mriqcT1w-session',
    code: 'resolution.input.missing',
    reason: 'the "scan" input sets derived-from-xnat-object-property "Scan", a property no Scan has, so its value is always null (§2.5 post-processing)',
  })),
];

function auxiliary(c: Command) {
  return (ref: string): Command => ({ ...c, name: 'aux', image: ref, type: ref.includes('wrap') ? 'docker-wrapup' : 'docker-setup', 'command-line': 'aux', mounts: [], inputs: [], outputs: [], xnat: [] });
}

/** Every directory and file path of the generated archive. */
function archivePaths(tree: Obj): Set<string> {
  const out = new Set<string>();
  const visit = (o: Obj): void => {
    for (const k of ['directory', 'path']) if (typeof o[k] === 'string') out.add(o[k] as string);
    for (const v of Object.values(o)) if (Array.isArray(v)) for (const c of v) if (c && typeof c === 'object' && !Array.isArray(c)) visit(c as Obj);
  };
  visit(tree);
  return out;
}

function checkResolved(where: string, c: Command, w: CommandWrapper, r: ResolvedCommand, tree: Obj): void {
  const keys = [...c.inputs.map(replacementKeyOf), ...w['external-inputs'].map(replacementKeyOf), ...w['derived-inputs'].map(replacementKeyOf)];
  const fields = [
    r['command-line'],
    ...Object.entries(r['environment-variables']).flat(),
    ...r.mounts.map((m) => m['container-path']),
    ...r.outputs.flatMap((o) => [o.path ?? '', o.label ?? '', ...o.tags]),
  ];
  for (const k of keys) for (const f of fields) assert.ok(!f.includes(k), `${where}: unreplaced ${k} in ${f}`);
  const paths = archivePaths(tree);
  const seen = new Set<string>();
  for (const m of r.mounts) {
    const p = m['container-path'].trim();
    assert.ok(p.startsWith('/'), `${where}: mount ${m.name} has relative container path "${p}"`);
    assert.ok(!seen.has(p), `${where}: two mounts at ${p}`);
    seen.add(p);
    assert.ok(m['xnat-host-path'].startsWith('/'), `${where}: mount ${m.name} has host path "${m['xnat-host-path']}"`);
    const source = [...w['external-inputs'], ...w['derived-inputs']].filter((i) => i['provides-files-for-command-mount'] === m.name).pop();
    if (source && !source['via-setup-command']) {
      const from = m.writable ? m['copy-from'] : m['xnat-host-path'];
      assert.ok(from !== null && paths.has(from), `${where}: mount ${m.name} is fed by "${source.name}" but takes ${String(from)}, not an archive path`);
    }
  }
  for (const o of r.outputs) assert.ok(r.mounts.some((m) => m.name === o.mount), `${where}: output ${o.name} on unknown mount ${o.mount}`);
}

test('every corpus wrapper resolves, except the reviewed list of broken ones, which fail for their reason', async (t) => {
  const files = readdirSync(corpus).filter((f) => f.endsWith('.json')).sort();
  const expected = new Map(EXPECTED_FAILURES.map((e) => [`${e.file} [${e.wrapper}]`, e]));
  const met = new Set<string>();
  let resolved = 0;
  for (const f of files) {
    let commands: Command[];
    try {
      commands = commandsFromText(readFileSync(corpus + f, 'utf8'), f).map((l) => l.command);
    } catch {
      continue; // not a command file (old schema, syntax errors): the validator reports those
    }
    for (const c of commands) {
      for (const w of c.xnat) {
        const where = `${f} [${w.name}]`;
        const exp = expected.get(where);
        const { tree, inputs, notes } = generateLaunch(c, w);
        let outcome: ResolvedCommand | ResolutionError;
        try {
          outcome = await resolveCommand({ command: c, wrapper: w.name, inputs, source: new MemoryObjectSource(tree), options: { findCommandByImage: auxiliary(c) } });
        } catch (e) {
          if (!(e instanceof ResolutionError)) throw new Error(`${where}: crash ${String((e as Error).stack)}`);
          outcome = e;
        }
        await t.test(where, () => {
          if (exp) {
            met.add(where);
            assert.ok(outcome instanceof ResolutionError, `${where} is listed as broken (${exp.reason}) but now resolves: take it off the list`);
            assert.equal(outcome.code, exp.code, `${where}: ${outcome.message}`);
            return;
          }
          if (outcome instanceof ResolutionError) assert.fail(`${where} no longer resolves: ${outcome.code}: ${outcome.message}${notes.length > 0 ? ` (generator: ${notes.join('; ')})` : ''}`);
          checkResolved(where, c, w, outcome, tree);
          resolved++;
        });
      }
    }
  }
  assert.deepEqual([...expected.keys()].filter((k) => !met.has(k)), [], 'every listed failure names a corpus wrapper');
  assert.ok(resolved >= 150, `only ${resolved} wrappers resolved`);
});

test('the generated archive is honest: it satisfies matchers through XNAT fields only', () => {
  const c = commandsFromText(
    JSON.stringify({
      name: 'c', image: 'i', type: 'docker', 'command-line': 'x #ID#', inputs: [{ name: 'ID', required: true }, { name: 'typed', required: true }],
      xnat: [{
        name: 'w',
        'external-inputs': [{ name: 'session', type: 'Session' }],
        'derived-inputs': [
          { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "@.scan-type == 'FLAIR' && 'NIFTI' in @.resources[*].label" },
          { name: 'bad', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "@.ScanType == 'FLAIR'" },
          { name: 'nii', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'NIFTI'" },
          { name: 'f', type: 'File', 'derived-from-wrapper-input': 'nii', matcher: '@.name =~ /.*\\.nii\\.gz/' },
          { name: 'id', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'ID' },
        ],
      }],
    }),
  )[0].command;
  const g = generateLaunch(c, c.xnat[0]);
  assert.equal(g.inputs.session, '/archive/experiments/E1');
  assert.equal(g.inputs.typed, 'value', 'a required command input nobody provides is typed by the user');
  assert.equal(g.inputs.ID, undefined, 'a provided command input is left to its provider');
  assert.ok(g.notes.some((n) => n.startsWith('bad:')), 'a matcher on a field XNAT does not have is not satisfied');
  const scans = ((g.tree.subjects as Obj[])[0].sessions as Obj[])[0].scans as Obj[];
  const flair = scans.find((s) => s['scan-type'] === 'FLAIR') as Obj;
  const nifti = (flair.resources as Obj[]).find((r) => r.label === 'NIFTI') as Obj;
  assert.match(String((nifti.files as Obj[])[0].name), /\.nii\.gz$/);
  assert.equal((nifti.files as Obj[])[0].path, `${String(nifti.directory)}/${String((nifti.files as Obj[])[0].name)}`);
});
