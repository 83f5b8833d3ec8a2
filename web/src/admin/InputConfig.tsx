/**
 * A wrapper's input configuration for one project (`GET`/`POST /xapi/projects/{p}/wrappers/{id}/config`): the
 * default value, matcher, whether users may set it and whether the launch form folds it away. A refusal naming
 * an input (`/inputs/NAME/…`) is shown on that input's row.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, enc, getJson, messageOf, sendJson } from '../api/client.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { useLoad } from '../components/useLoad.ts';

interface InputView {
  description: string | null;
  type: string;
  'default-value': string | null;
  matcher: string | null;
  'user-settable': boolean;
  advanced: boolean;
  required: boolean;
}

interface ConfigView {
  inputs: Record<string, InputView>;
  outputs: Record<string, { type: string; label: string | null }>;
}

export function InputConfig({ wrapperId, label, project, onClose }: { wrapperId: number; label: string; project: string; onClose: () => void }) {
  const url = `/xapi/projects/${enc(project)}/wrappers/${wrapperId}/config`;
  const loaded = useLoad((s) => getJson<ConfigView>(url, s).then((r) => r.data), [url]);
  const [draft, setDraft] = useState<ConfigView | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => { if (loaded.data) setDraft(loaded.data); }, [loaded.data]);

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!draft) return;
    setError(null);
    setSaved(false);
    const inputs = Object.fromEntries(Object.entries(draft.inputs).map(([n, v]) => [n, {
      'default-value': v['default-value'], matcher: v.matcher, 'user-settable': v['user-settable'], advanced: v.advanced,
    }]));
    const outputs = Object.fromEntries(Object.entries(draft.outputs).map(([n, v]) => [n, { label: v.label }]));
    try {
      setDraft(await sendJson<ConfigView>('POST', `${url}?enable=false`, { json: { inputs, outputs } }));
      setSaved(true);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const errorAt = (name: string): string | undefined =>
    error instanceof ApiError && error.path?.startsWith(`/inputs/${name}`) ? error.message : undefined;
  const placed = draft && Object.keys(draft.inputs).some((n) => errorAt(n));
  const set = (name: string, patch: Partial<InputView>): void => {
    if (draft) setDraft({ ...draft, inputs: { ...draft.inputs, [name]: { ...draft.inputs[name], ...patch } } });
  };

  return (
    <section className="panel input-config" aria-labelledby="cfg-title">
      <div className="page-head">
        <h3 id="cfg-title">Inputs of {label} in {project}</h3>
        <button type="button" onClick={onClose}>Close</button>
      </div>
      {loaded.error ? <ErrorBox title="Cannot read the configuration" message={messageOf(loaded.error)} /> : null}
      {!draft && !loaded.error ? <Loading what="the configuration" /> : null}
      {draft ? (
        <form onSubmit={(e) => void save(e)}>
          <table>
            <thead><tr><th scope="col">Input</th><th scope="col">Default value</th><th scope="col">Matcher</th><th scope="col">User may set</th><th scope="col">Advanced</th></tr></thead>
            <tbody>
              {Object.entries(draft.inputs).map(([name, v]) => {
                const err = errorAt(name);
                return (
                  <tr key={name} data-config-input={name}>
                    <th scope="row">{name}{v.required ? ' *' : ''}<div className="help">{v.description ?? v.type}</div></th>
                    <td><input aria-label={`Default value of ${name}`} value={v['default-value'] ?? ''} aria-invalid={err ? true : undefined}
                      onChange={(e) => set(name, { 'default-value': e.target.value })} />
                    {err ? <p className="field-error" role="alert">{err}</p> : null}</td>
                    <td><input aria-label={`Matcher of ${name}`} value={v.matcher ?? ''} onChange={(e) => set(name, { matcher: e.target.value || null })} /></td>
                    <td><input type="checkbox" aria-label={`Users may set ${name}`} checked={v['user-settable']} onChange={(e) => set(name, { 'user-settable': e.target.checked })} /></td>
                    <td><input type="checkbox" aria-label={`${name} is advanced`} checked={v.advanced} onChange={(e) => set(name, { advanced: e.target.checked })} /></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {error && !placed ? <ErrorBox title="Not saved" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
          {saved ? <p className="notice" role="status">Saved for {project}.</p> : null}
          <button type="submit" className="primary">Save for {project}</button>
        </form>
      ) : null}
    </section>
  );
}
