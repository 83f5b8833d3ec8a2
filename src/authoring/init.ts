/**
 * `xcs init IMAGE`: a first command for a local image, from what the image says about itself — a
 * draft that validates and runs as it is, with a note per field the author should still fill in.
 *
 * What is taken from the image: the name (last part of the repository), the version (the tag, unless
 * it is `latest`), the command line (the arguments `docker run IMAGE` would give its entrypoint, or
 * its CMD), the working directory, and its OCI labels (description, documentation URL). What is
 * assumed, as XNAT's guide does: files come in at `/input` (read-only) and go out at `/output`, the
 * wrapper runs on a session whose files are the input, and the output becomes a resource of it.
 */
import type { ImageInfo } from '../backends/types.ts';

export interface DraftNote {
  path: string;
  message: string;
}

export interface Draft {
  command: Record<string, unknown>;
  notes: DraftNote[];
}

/** Memory placeholders (MiB): the guide calls reservation and limit good practice; the author sets real ones. */
export const DRAFT_RESERVE_MEMORY = 256;
export const DRAFT_LIMIT_MEMORY = 1024;

/** One argument written so that XNAT's splitting (backends/command-line.ts) gives it back unchanged. */
export function quoteArgument(arg: string): string {
  if (arg !== '' && /^[\w./=:,+@%-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function nameOf(image: string): { repository: string; tag: string | null } {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  return colon > slash ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repository: ref, tag: null };
}

/** The draft for `image` as inspected; `reference` is how the author named it. */
export function draftCommand(reference: string, info: ImageInfo): Draft {
  const notes: DraftNote[] = [];
  const { repository, tag } = nameOf(reference);
  const base = repository.split('/').pop() ?? repository;
  const name = base.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'command';
  const image = `${repository}:${tag ?? 'latest'}`;
  const labels = info.labels ?? {};
  const args = info.cmd ?? [];
  const commandLine = args.map(quoteArgument).join(' ');
  const description = labels['org.opencontainers.image.description'] ?? labels.description ?? null;
  const infoUrl = labels['org.opencontainers.image.documentation'] ?? labels['org.opencontainers.image.url'] ?? labels['org.opencontainers.image.source'] ?? null;
  const version = tag && tag !== 'latest' ? tag : labels['org.opencontainers.image.version'] ?? '0.1';

  if (!description) notes.push({ path: '/description', message: 'say what the tool does (shown in XNAT\'s launch dialog)' });
  if (!tag || tag === 'latest') notes.push({ path: '/image', message: `the image has no version tag; tag it (docker tag ${reference} ${repository}:1.0) and use that, so installed commands name one build` });
  if (info.entrypoint && info.entrypoint.length > 0) {
    notes.push({ path: '/command-line', message: `arguments for the image's entrypoint (${info.entrypoint.join(' ')}); XNAT keeps the entrypoint and splits this line into its arguments` });
  } else {
    notes.push({ path: '/command-line', message: 'the image has no entrypoint: this line is the whole command; make it read /input and write /output' });
  }
  if (commandLine === '') notes.push({ path: '/command-line', message: 'the image gives no default command: write the tool\'s command line here' });
  notes.push({ path: '/inputs', message: 'add the tool\'s options as inputs (each with a replacement-key used in command-line)' });
  notes.push({ path: '/outputs/0', message: 'say where the tool writes (path, glob) and set "required": true once it always does' });
  notes.push({ path: '/reserve-memory', message: `placeholder (${DRAFT_RESERVE_MEMORY} MiB): what the tool usually needs` });
  notes.push({ path: '/limit-memory', message: `placeholder (${DRAFT_LIMIT_MEMORY} MiB): the most it may use before it is killed` });
  notes.push({ path: '/xnat/0/contexts', message: 'where the wrapper is offered: xnat:imageSessionData (any session); narrow it (xnat:mrSessionData) or use a scan wrapper' });
  notes.push({ path: '/xcs-tests', message: 'add a test case with a fixture folder, then run xcs test (XNAT ignores this key)' });

  const command: Record<string, unknown> = {
    name,
    label: name,
    description: description ?? `TODO: what ${name} does`,
    version,
    'schema-version': '1.0',
    ...(infoUrl ? { 'info-url': infoUrl } : {}),
    image,
    type: 'docker',
    'command-line': commandLine,
    'override-entrypoint': false,
    ...(info.workingDir ? { 'working-directory': info.workingDir } : {}),
    mounts: [
      { name: 'input', writable: false, path: '/input' },
      { name: 'output', writable: true, path: '/output' },
    ],
    'environment-variables': {},
    'reserve-memory': DRAFT_RESERVE_MEMORY,
    'limit-memory': DRAFT_LIMIT_MEMORY,
    inputs: [],
    outputs: [
      { name: 'output', description: 'The files the tool writes to /output', mount: 'output', required: false },
    ],
    xnat: [
      {
        name: `${name}-session`,
        label: name,
        description: `Run ${name} on a session`,
        contexts: ['xnat:imageSessionData'],
        'external-inputs': [
          { name: 'session', description: 'The session whose files are the input', type: 'Session', required: true, 'provides-files-for-command-mount': 'input' },
        ],
        'derived-inputs': [],
        'output-handlers': [
          { name: 'output-resource', 'accepts-command-output': 'output', 'as-a-child-of': 'session', type: 'Resource', label: name.toUpperCase() },
        ],
      },
    ],
  };
  return { command, notes };
}
