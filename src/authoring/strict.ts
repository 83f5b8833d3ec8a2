/**
 * `xcs validate --strict`: best-practice warnings for a valid command — things XNAT accepts but an
 * author wants to know before installing: no memory reservation or limit, a moving `:latest` tag,
 * outputs that take every file of a mount, inputs the container never sees, contexts XNAT does not
 * know, wrappers that can never be offered or never match. Each has its JSON path and a fix.
 */
import { isA, isKnownType, typesDerivedFrom } from '../archive/xsi.ts';
import { replacementKeyOf, type Command, type CommandWrapper } from '../command/model.ts';
import { suggestKey } from '../command/normalise.ts';
import { pinnedFields } from './stand-in.ts';

export interface StrictWarning {
  path: string;
  code: string;
  message: string;
  fix: string;
}

const ROOTS = ['xnat:projectData', 'xnat:subjectData', 'xnat:experimentData', 'xnat:imageScanData', 'xnat:abstractResource'];
const KNOWN_CONTEXTS = [...new Set(ROOTS.flatMap((r) => typesDerivedFrom(r)))];

/** Which external-input types can take an object of context type `context`. */
function inputTypesFor(context: string): string[] {
  if (isA(context, 'xnat:projectData')) return ['Project'];
  if (isA(context, 'xnat:subjectData')) return ['Subject'];
  if (isA(context, 'xnat:imageScanData')) return ['Scan'];
  if (isA(context, 'xnat:derivedData')) return ['Assessor'];
  if (isA(context, 'xnat:imageSessionData')) return ['Session', 'SubjectAssessor'];
  if (isA(context, 'xnat:subjectAssessorData')) return ['SubjectAssessor', 'Session'];
  if (isA(context, 'xnat:abstractResource')) return ['Resource'];
  return [];
}

function suggestContext(context: string): string | undefined {
  const lower = new Map(KNOWN_CONTEXTS.map((k) => [k.toLowerCase(), k]));
  const hit = suggestKey(context.toLowerCase(), lower.keys());
  return hit ? lower.get(hit) : undefined;
}

function wrapperWarnings(w: CommandWrapper, i: number, out: StrictWarning[]): void {
  const at = `/xnat/${i}`;
  const known: string[] = [];
  w.contexts.forEach((c, j) => {
    if (isKnownType(c)) {
      known.push(c);
      return;
    }
    const guess = suggestContext(c);
    out.push({
      path: `${at}/contexts/${j}`, code: 'strict.context.unknown',
      message: `context "${c}" is not an XNAT data type${guess ? ` — did you mean "${guess}"?` : ''}; the wrapper is never offered there`,
      fix: guess ? `write "${guess}"` : 'use a type such as xnat:imageSessionData, xnat:mrSessionData or xnat:imageScanData',
    });
  });
  const externals = w['external-inputs'];
  for (const c of known) {
    const fits = inputTypesFor(c);
    const taking = externals.filter((x) => fits.includes(x.type));
    if (taking.length === 0) {
      out.push({
        path: `${at}/contexts`, code: 'strict.context.no-input',
        message: `the wrapper is offered on ${c}, but no external input takes one (${externals.map((x) => `${x.name}: ${x.type}`).join(', ') || 'no external inputs'})`,
        fix: `give an external input the type ${fits.join(' or ') || 'of the context'}, or change the context`,
      });
      continue;
    }
    for (const x of taking) {
      const pinned = pinnedFields(x.matcher).xsiType;
      if (pinned !== undefined && !isA(pinned, c) && !isA(c, pinned)) {
        const index = externals.indexOf(x);
        out.push({
          path: `${at}/external-inputs/${index}/matcher`, code: 'strict.matcher.never',
          message: `the matcher wants xsiType "${pinned}", which is never a ${c} (the wrapper's context): it can never match`,
          fix: `make the context ${pinned}, or the matcher's xsiType a kind of ${c}`,
        });
      }
    }
  }
}

/** Whether a replacement key appears in what reaches the container. */
function usedKeys(cmd: Command): string {
  return [
    cmd['command-line'] ?? '',
    cmd['working-directory'] ?? '',
    ...Object.entries(cmd['environment-variables']).flat(),
    ...cmd.mounts.map((m) => m.path),
    ...cmd.outputs.map((o) => o.path ?? ''),
  ].join('\n');
}

export function strictWarnings(cmd: Command): StrictWarning[] {
  const out: StrictWarning[] = [];
  if (cmd.type !== 'docker') return out;
  if (cmd['reserve-memory'] === null) {
    out.push({ path: '/reserve-memory', code: 'strict.memory.reservation', message: 'no memory reservation: the engine may start the container where there is too little memory for it', fix: 'set "reserve-memory" (MiB) to what the tool usually needs, e.g. 512' });
  }
  if (cmd['limit-memory'] === null) {
    out.push({ path: '/limit-memory', code: 'strict.memory.limit', message: 'no memory limit: one run can use all of the host\'s memory', fix: 'set "limit-memory" (MiB) to the most the tool may use, e.g. 4096' });
  }
  if (/:latest$/.test(cmd.image) || !/:[\w][\w.-]*$/.test(cmd.image.replace(/^[^/]*:\d+\//, ''))) {
    out.push({ path: '/image', code: 'strict.image.latest', message: `image "${cmd.image}" names a moving tag: the command may run a different build tomorrow`, fix: 'tag each build with a version (docker tag IMAGE repo:1.0) and use that tag' });
  }
  const byPlace = new Map<string, number[]>();
  cmd.outputs.forEach((o, i) => {
    if (o.glob === null || o.glob.trim() === '') {
      const place = `${o.mount}\0${(o.path ?? '').trim()}`;
      byPlace.set(place, [...(byPlace.get(place) ?? []), i]);
      if ((o.path ?? '').trim() === '') {
        out.push({ path: `/outputs/${i}`, code: 'strict.output.no-glob', message: `output "${o.name}" takes every file the tool leaves in mount "${o.mount}" (logs and temporary files too)`, fix: 'add a "glob" (e.g. "*.nii.gz") or a "path" naming what the output is' });
      }
    }
  });
  for (const indexes of byPlace.values()) {
    if (indexes.length < 2) continue;
    out.push({ path: `/outputs/${indexes[1]}`, code: 'strict.output.same-files', message: `outputs ${indexes.map((i) => `"${cmd.outputs[i].name}"`).join(' and ')} take the same files (same mount and path, no glob)`, fix: 'give each a glob that selects its own files' });
  }
  const used = usedKeys(cmd);
  cmd.inputs.forEach((input, i) => {
    const key = replacementKeyOf(input);
    if (!used.includes(key)) {
      out.push({ path: `/inputs/${i}`, code: 'strict.input.unused', message: `input "${input.name}" (${key}) is never used: its value reaches neither the command line nor the environment`, fix: `put ${key} in "command-line" (or an environment variable), or remove the input` });
    }
  });
  cmd.xnat.forEach((w, i) => wrapperWarnings(w, i, out));
  return out;
}
