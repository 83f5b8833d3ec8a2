/**
 * The container server settings (`GET`/`POST /xapi/docker/server`), each with what it does. Saving posts the
 * whole object back; a refusal names the field (`path: "/pids-limit"`), and its message is shown next to it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, getJson, messageOf, sendJson } from '../api/client.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { useLoad } from '../components/useLoad.ts';

type Settings = Record<string, unknown>;

interface FieldDef {
  key: string;
  label: string;
  kind: 'text' | 'number' | 'boolean' | 'list';
  effect: string;
}

const FIELDS: FieldDef[] = [
  { key: 'host', label: 'Container engine', kind: 'text', effect: 'Where containers run: a Docker socket (unix:///var/run/docker.sock) or URL. Changing it affects new runs only.' },
  { key: 'processing-url', label: 'Callback URL', kind: 'text', effect: 'XNAT_HOST given to containers to call the archive back; empty = this server\'s own URL.' },
  { key: 'container-network', label: 'Container network', kind: 'text', effect: 'none (default: no network), host, bridge or a named network. Containers get no network unless this says so.' },
  { key: 'allowed-command-networks', label: 'Networks commands may ask for', kind: 'list', effect: 'Comma-separated; a command naming another network is refused at launch.' },
  { key: 'pids-limit', label: 'Process limit', kind: 'number', effect: 'Most processes a container may start (fork bombs stop here).' },
  { key: 'default-limit-memory', label: 'Default memory limit (MiB)', kind: 'number', effect: 'For commands that set no limit-memory; empty = unlimited.' },
  { key: 'default-limit-cpu', label: 'Default CPU limit (cores)', kind: 'number', effect: 'For commands that set no limit-cpu; empty = unlimited.' },
  { key: 'read-only-rootfs', label: 'Read-only root filesystem', kind: 'boolean', effect: 'Containers may write only to their mounts and /tmp.' },
  { key: 'container-user', label: 'Run containers as', kind: 'text', effect: 'uid[:gid] for every container; empty = the image\'s user.' },
  { key: 'archive-staging', label: 'Archive staging', kind: 'text', effect: 'bind (default): containers mount the archive\'s directories; copy: inputs are copied into the run\'s build directory first (an engine that cannot see the archive).' },
  { key: 'auto-cleanup', label: 'Remove finished containers', kind: 'boolean', effect: 'Containers are removed once their logs and outputs are saved.' },
  { key: 'pull-images-on-xnat-init', label: 'Pull images at start-up', kind: 'boolean', effect: 'Pulls the images of registered commands when the server starts (needs a reachable registry).' },
  { key: 'max-concurrent-finalizing-jobs', label: 'Finalizations at once', kind: 'number', effect: 'How many finished runs upload their outputs at the same time; empty = the default.' },
  { key: 'status-email-enabled', label: 'Status e-mails', kind: 'boolean', effect: 'Launchers get an e-mail when their runs end (needs mail settings).' },
];

function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

function fromText(def: FieldDef, text: string): unknown {
  if (def.kind === 'list') return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (def.kind === 'number') return text.trim() === '' ? null : /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
  return text.trim() === '' ? null : text.trim();
}

export function SettingsPanel() {
  const loaded = useLoad((s) => getJson<Settings>('/xapi/docker/server', s).then((r) => r.data), []);
  const [draft, setDraft] = useState<Settings>({});
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => { if (loaded.data) setDraft(loaded.data); }, [loaded.data]);
  if (loaded.error) return <ErrorBox title="Could not read the settings" message={messageOf(loaded.error)} />;
  if (!loaded.data) return <Loading what="the settings" />;
  const fieldError = (key: string): string | undefined => (error instanceof ApiError && error.path?.replace(/^\//, '') === key ? error.message : undefined);
  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const { ping: _ping, ...body } = draft;
    try {
      const next = await sendJson<Settings>('POST', '/xapi/docker/server', { json: body });
      setDraft(next);
      setSaved(true);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const unplaced = error && !FIELDS.some((f) => fieldError(f.key));
  return (
    <form className="settings" onSubmit={(e) => void save(e)} aria-label="Server settings">
      <p className="help">Engine: <strong>{toText(draft.backend) || 'docker'}</strong> · {draft.ping ? 'answers' : 'does not answer'}. Changes apply to runs launched after saving.</p>
      <div className="settings-grid">
        {FIELDS.map((f) => {
          const err = fieldError(f.key);
          const id = `setting-${f.key}`;
          return (
            <div key={f.key} className="setting" data-setting={f.key}>
              {f.kind === 'boolean' ? (
                <label className="inline" htmlFor={id}>
                  <input id={id} type="checkbox" checked={draft[f.key] === true} aria-describedby={`${id}-effect`}
                    onChange={(e) => setDraft({ ...draft, [f.key]: e.target.checked })} /> {f.label}
                </label>
              ) : (
                <>
                  <label htmlFor={id}>{f.label}</label>
                  <input id={id} type="text" value={toText(draft[f.key])} aria-invalid={err ? true : undefined}
                    aria-describedby={`${id}-effect${err ? ` ${id}-err` : ''}`}
                    onChange={(e) => setDraft({ ...draft, [f.key]: fromText(f, e.target.value) })} />
                </>
              )}
              <p className="help" id={`${id}-effect`}>{f.effect}</p>
              {err ? <p className="field-error" id={`${id}-err`} role="alert">{err}</p> : null}
            </div>
          );
        })}
      </div>
      {unplaced ? <ErrorBox title="Not saved" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
      {saved ? <p className="notice" role="status">Saved.</p> : null}
      <button type="submit" className="primary">Save settings</button>
    </form>
  );
}
