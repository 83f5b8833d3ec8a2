/**
 * An OutputSink over a plain directory tree: an object with URI `/archive/a/b` is the directory
 * `<root>/archive/a/b`; a resource is `<object>/resources/<label>`, an assessor or scan
 * `<object>/assessors|scans/<ID>/<ID>.xml`. Each commit is one rename of a complete directory, and the
 * committed directory holds its idempotency key, so a repeated key is recognised.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { safeSegments } from './collect.ts';
import type { Committed, CommitKey, OutputSink, ResourceMeta, StagedFile } from './types.ts';

/** Hidden file recording which key created a committed directory (outside the resource's files). */
const KEY_FILE = '.xcs-commit.json';

export interface DirectorySinkOptions {
  /** Who may edit what; everyone may edit everything by default. */
  canEdit?: (user: string, uri: string) => boolean | Promise<boolean>;
}

export class DirectorySink implements OutputSink {
  readonly root: string;
  readonly #canEdit: (user: string, uri: string) => boolean | Promise<boolean>;

  constructor(root: string, options: DirectorySinkOptions = {}) {
    this.root = root;
    this.#canEdit = options.canEdit ?? (() => true);
  }

  stagingRoot(): string {
    return join(this.root, '.staging');
  }

  /** The directory of an object URI (which must be relative-safe once its leading `/` is dropped). */
  dirOf(uri: string): string {
    return join(this.root, ...safeSegments(uri, uri.replace(/^\/+/, '')));
  }

  /** Creates the directory of an object, as the archive would hold it. */
  async ensureObject(uri: string): Promise<void> {
    await mkdir(this.dirOf(uri), { recursive: true });
  }

  async canEdit(user: string, parentUri: string): Promise<boolean> {
    return this.#canEdit(user, parentUri);
  }

  /** Keeps no checksums, so the staged files' digests are not used. */
  async commitResource(parentUri: string, meta: ResourceMeta, stagedDir: string, key: CommitKey,
    _staged?: readonly StagedFile[]): Promise<Committed> {
    const uri = `${parentUri}/resources/${meta.label}`;
    await writeFile(join(stagedDir, KEY_FILE), JSON.stringify({ key: key.idempotencyKey, meta, user: key.user }));
    return this.#place(parentUri, uri, stagedDir, key);
  }

  async createItem(parentUri: string, kind: 'Assessor' | 'Scan', xml: string, key: CommitKey): Promise<Committed> {
    const id = /\bID="([^"]+)"/.exec(xml)?.[1] ?? /\blabel="([^"]+)"/.exec(xml)?.[1];
    if (!id) throw new XcsError('bad-document', `The ${kind} document has no ID or label attribute.`, { path: parentUri });
    const uri = `${parentUri}/${kind === 'Assessor' ? 'assessors' : 'scans'}/${id}`;
    const tmp = join(this.stagingRoot(), `item-${randomUUID()}`);
    await mkdir(tmp, { recursive: true });
    try {
      await writeFile(join(tmp, `${id}.xml`), xml);
      await writeFile(join(tmp, KEY_FILE), JSON.stringify({ key: key.idempotencyKey, user: key.user }));
      return await this.#place(parentUri, uri, tmp, key);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async #place(parentUri: string, uri: string, dir: string, key: CommitKey): Promise<Committed> {
    const parent = this.dirOf(parentUri);
    if (!(await stat(parent).catch(() => undefined))?.isDirectory()) {
      throw new XcsError('not-found', `No object at ${parentUri}.`, { path: parentUri });
    }
    const target = this.dirOf(uri);
    const existing = await this.committedKey(target);
    if (existing === key.idempotencyKey) return { uri, created: false };
    if (existing !== undefined) {
      throw new XcsError('conflict', `${uri} already exists.`, { path: uri, hint: 'Choose another label.' });
    }
    await mkdir(join(target, '..'), { recursive: true });
    await rename(dir, target);
    return { uri, created: true };
  }

  /** The key that created a committed directory; `null`-free: undefined when nothing is there. */
  async committedKey(dir: string): Promise<string | undefined> {
    const text = await readFile(join(dir, KEY_FILE), 'utf8').catch(() => undefined);
    if (text === undefined) {
      return (await stat(dir).catch(() => undefined)) ? '' : undefined;
    }
    return (JSON.parse(text) as { key: string }).key;
  }
}
