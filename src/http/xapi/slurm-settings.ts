/**
 * The server settings of the Slurm backend (XCS keys of `POST /xapi/docker/server` with `"backend": "slurm"`):
 * where the job directories are on the file system the server shares with the nodes, which engine CLI runs the
 * containers on the nodes, and the partition, account and QoS every job is submitted with. `host` stays the
 * engine XCS asks about images (it must see the images the nodes have). With `slurm-rest-url` XCS talks to
 * slurmrestd with a JWT instead of running the Slurm tools; the token itself is never a setting (it expires and is
 * a credential): it is read from `slurm-rest-token-file`, or from the server's `XCS_SLURM_JWT`.
 */
import path from 'node:path';
import type { SlurmBackendOptions } from '../../backends/index.ts';
import { XcsError } from '../../core/errors.ts';
import type { SlurmUserSettable } from '../../resolution/types.ts';

export interface SlurmServerKeys {
  /** Absolute; every node sees it at the same path. Required with the slurm backend. */
  'slurm-job-root': string | null;
  /** `docker` (default) or `podman`: the nodes' container engine CLI. */
  'slurm-runner': string;
  'slurm-partition': string | null;
  'slurm-account': string | null;
  'slurm-qos': string | null;
  /** The nodes' engine is this machine's (a one-machine cluster): kills also remove the container directly. */
  'slurm-runner-local': boolean;
  /**
   * Which of partition/account/QoS users may choose at launch (launch inputs `slurm-partition`, `slurm-account`,
   * `slurm-qos`) and the values allowed for each, e.g. `{"partition": ["short", "gpu"]}`; `{}` = none.
   */
  'slurm-user-settable': SlurmUserSettable;
  /** slurmrestd's URL (`http://host:6820`); null = the command-line tools. */
  'slurm-rest-url': string | null;
  /** The Slurm user the REST requests and jobs are made as (the token's user); required with `slurm-rest-url`. */
  'slurm-rest-user': string | null;
  /** Absolute path of the file holding the token (`scontrol token` output); else `XCS_SLURM_JWT`. */
  'slurm-rest-token-file': string | null;
}

export function defaultSlurmKeys(): SlurmServerKeys {
  return { 'slurm-job-root': null, 'slurm-runner': 'docker', 'slurm-partition': null, 'slurm-account': null, 'slurm-qos': null,
    'slurm-runner-local': false, 'slurm-user-settable': {}, 'slurm-rest-url': null, 'slurm-rest-user': null, 'slurm-rest-token-file': null };
}

function bad(message: string, where: string, hint?: string): XcsError {
  return new XcsError('xapi.settings.invalid', message, { status: 400, path: where, ...(hint ? { hint } : {}) });
}

const SLURM_WORD = /^[A-Za-z0-9_.-]{1,64}$/;

/** Reads the Slurm keys of a posted server JSON, collecting every error; `backend` is the kind asked for. */
export function parseSlurmKeys(body: Record<string, unknown>, backend: string, errors: XcsError[]): SlurmServerKeys {
  const keys = defaultSlurmKeys();
  const text = (key: keyof SlurmServerKeys): string | null => {
    const v = body[key];
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') {
      errors.push(bad(`"${key}" must be a string`, `/${key}`));
      return null;
    }
    return v.trim();
  };
  const root = text('slurm-job-root');
  if (root !== null && (!path.posix.isAbsolute(root) || root.includes('\n') || path.posix.normalize(root) === '/')) {
    errors.push(bad('"slurm-job-root" must be an absolute directory (not /)', '/slurm-job-root'));
  } else keys['slurm-job-root'] = root === null ? null : path.posix.normalize(root);
  if (backend === 'slurm' && keys['slurm-job-root'] === null) {
    errors.push(bad('The slurm backend needs "slurm-job-root"', '/slurm-job-root',
      'a directory on the file system the XCS server shares with every node, at the same path (job scripts and logs go there)'));
  }
  const runner = text('slurm-runner');
  if (runner !== null) {
    if (!/^[A-Za-z0-9_./-]+$/.test(runner)) errors.push(bad('"slurm-runner" must be a program name or path, e.g. docker or podman', '/slurm-runner'));
    else keys['slurm-runner'] = runner;
  }
  for (const key of ['slurm-partition', 'slurm-account', 'slurm-qos'] as const) {
    const v = text(key);
    if (v !== null && !SLURM_WORD.test(v)) errors.push(bad(`"${key}" must be a Slurm name (letters, digits, "_", "." and "-")`, `/${key}`));
    else keys[key] = v;
  }
  const local = body['slurm-runner-local'];
  if (local === true || local === 'true') keys['slurm-runner-local'] = true;
  else if (local !== undefined && local !== null && local !== false && local !== 'false') {
    errors.push(bad('"slurm-runner-local" must be true or false', '/slurm-runner-local'));
  }
  keys['slurm-user-settable'] = parseUserSettable(body['slurm-user-settable'], errors);
  parseRestKeys(keys, text, errors);
  return keys;
}

/** The slurmrestd keys: a plain http(s) URL (no credentials in it), a user name, an absolute token file. */
function parseRestKeys(keys: SlurmServerKeys, text: (key: keyof SlurmServerKeys) => string | null, errors: XcsError[]): void {
  const url = text('slurm-rest-url');
  if (url !== null) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (parsed === null || !/^https?:$/.test(parsed.protocol) || parsed.username !== '' || parsed.password !== '' || parsed.search !== '') {
      errors.push(bad('"slurm-rest-url" must be slurmrestd\'s http:// or https:// URL, without credentials or query', '/slurm-rest-url',
        'e.g. http://slurm-head:6820; the token goes in "slurm-rest-token-file"'));
    } else keys['slurm-rest-url'] = url.replace(/\/+$/, '');
  }
  const user = text('slurm-rest-user');
  if (user !== null && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(user)) errors.push(bad('"slurm-rest-user" must be a user name', '/slurm-rest-user'));
  else keys['slurm-rest-user'] = user;
  const tokenFile = text('slurm-rest-token-file');
  if (tokenFile !== null && (!path.posix.isAbsolute(tokenFile) || tokenFile.includes('\n'))) {
    errors.push(bad('"slurm-rest-token-file" must be an absolute path', '/slurm-rest-token-file'));
  } else keys['slurm-rest-token-file'] = tokenFile === null ? null : path.posix.normalize(tokenFile);
  if (keys['slurm-rest-url'] !== null && keys['slurm-rest-user'] === null) {
    errors.push(bad('"slurm-rest-url" needs "slurm-rest-user": the Slurm user the token is for', '/slurm-rest-user'));
  }
  if (keys['slurm-rest-url'] === null && (keys['slurm-rest-user'] !== null || keys['slurm-rest-token-file'] !== null)) {
    errors.push(bad('"slurm-rest-user" and "slurm-rest-token-file" go with "slurm-rest-url"', '/slurm-rest-url'));
  }
}

const USER_SETTABLE = ['partition', 'account', 'qos'] as const;

function parseUserSettable(value: unknown, errors: XcsError[]): SlurmUserSettable {
  const where = '/slurm-user-settable';
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(bad('"slurm-user-settable" must be an object such as {"partition": ["short", "gpu"]}', where));
    return {};
  }
  const out: SlurmUserSettable = {};
  for (const [key, list] of Object.entries(value)) {
    const word = USER_SETTABLE.find((w) => w === key);
    if (word === undefined) {
      errors.push(bad(`"slurm-user-settable" has "${key.slice(0, 32)}": only partition, account and qos can be user-settable`, `${where}/${key.slice(0, 32)}`));
      continue;
    }
    if (!Array.isArray(list) || list.length === 0 || list.length > 100) {
      errors.push(bad(`"slurm-user-settable.${word}" must be a list of 1 to 100 allowed ${word} names`, `${where}/${word}`));
      continue;
    }
    const names: string[] = [];
    list.forEach((v: unknown, i) => {
      if (typeof v === 'string' && SLURM_WORD.test(v.trim())) names.push(v.trim());
      else errors.push(bad(`"slurm-user-settable.${word}" holds a value that is not a Slurm name (letters, digits, "_", "." and "-")`, `${where}/${word}/${i}`));
    });
    out[word] = [...new Set(names)];
  }
  return out;
}

/** The Slurm backend's factory options of stored settings. */
export function slurmOptionsOf(server: SlurmServerKeys & { host: string }): SlurmBackendOptions {
  const restUrl = server['slurm-rest-url'];
  const tokenFile = server['slurm-rest-token-file'];
  return {
    ...(restUrl === null ? {} : { rest: {
      url: restUrl, user: server['slurm-rest-user'] ?? '',
      ...(tokenFile === null ? { token: process.env.XCS_SLURM_JWT ?? '' } : { tokenFile }),
    } }),
    jobRoot: server['slurm-job-root'] ?? undefined,
    host: server.host,
    runner: server['slurm-runner'],
    runnerReachable: server['slurm-runner-local'],
    placement: {
      ...(server['slurm-partition'] === null ? {} : { partition: server['slurm-partition'] }),
      ...(server['slurm-account'] === null ? {} : { account: server['slurm-account'] }),
      ...(server['slurm-qos'] === null ? {} : { qos: server['slurm-qos'] }),
    },
  };
}
