/**
 * The launch form of one wrapper on one object, rendered from `GET /xapi/projects/{p}/wrappers/{id}/launch`:
 * text, select-one, select-many, boolean, static and password inputs, required marks, advanced inputs folded
 * away; on a Slurm site the partition/account/QoS the site lets users choose (inputs marked `placement`) in their
 * own group. Launching posts the values as JSON (`…/root/{root}/launch`) and opens the new run; a refusal that
 * names an input (`path`) is shown next to that input, any other above the button.
 */
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { ApiError, enc, getJson, messageOf, query, request } from '../api/client.ts';
import type { Command, LaunchReport, LaunchUi } from '../api/types.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { navigate } from '../router.tsx';
import { fieldsOf, isFixed, launchBody, missingRequired, type Field, type FormValues } from './inputs.ts';

interface Props {
  project: string;
  wrapperId: number;
  commandId: number;
  root: string;
  objectUri: string;
}

function FieldControl({ field, value, error, onChange }: { field: Field; value: FormValues[string]; error?: string; onChange: (v: FormValues[string]) => void }) {
  const id = useId();
  const c = field.config;
  const help = c.description ? `${id}-help` : undefined;
  const err = error ? `${id}-err` : undefined;
  const describedBy = [help, err].filter(Boolean).join(' ') || undefined;
  const label = (
    <>
      {c.label}
      {c.required ? <span className="required" aria-hidden="true"> *</span> : null}
    </>
  );
  const common = { id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined, required: c.required && c['input-type'] !== 'password' };
  let control;
  switch (isFixed(field) ? 'static' : c['input-type']) {
    case 'static':
    case 'derived': {
      const shown = field.options.find((o) => o.value === value)?.label ?? (Array.isArray(value) ? value.join(', ') : value);
      control = <output id={id} className="static-value" aria-describedby={describedBy}>{shown || '—'}</output>;
      break;
    }
    case 'boolean':
      return (
        <div className={`field field-boolean depth-${Math.min(field.depth, 3)}`} data-input={c.name}>
          <label className="inline">
            <input type="checkbox" {...common} required={false} checked={value === 'true'} onChange={(e) => onChange(e.target.checked ? 'true' : 'false')} />
            {label}
          </label>
          {c.description ? <p id={help} className="help">{c.description}</p> : null}
          {error ? <p id={err} className="field-error">{error}</p> : null}
        </div>
      );
    case 'select-one': {
      const opts = field.options.length > 0 ? field.options.map((o) => ({ value: o.value, label: o.label })) : c['select-values'].map((v) => ({ value: v, label: v }));
      control = (
        <select {...common} value={Array.isArray(value) ? value[0] : value} onChange={(e) => onChange(e.target.value)}>
          {opts.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
        </select>
      );
      break;
    }
    case 'select-many': {
      const opts = field.options.length > 0 ? field.options.map((o) => ({ value: o.value, label: o.label })) : c['select-values'].map((v) => ({ value: v, label: v }));
      const chosen = new Set(Array.isArray(value) ? value : [value]);
      return (
        <fieldset className={`field depth-${Math.min(field.depth, 3)}`} data-input={c.name} aria-describedby={describedBy} aria-invalid={error ? true : undefined}>
          <legend>{label}</legend>
          {opts.map((o) => (
            <label key={o.value} className="inline">
              <input type="checkbox" checked={chosen.has(o.value)} onChange={(e) => {
                const next = new Set(chosen);
                if (e.target.checked) next.add(o.value); else next.delete(o.value);
                onChange(opts.map((x) => x.value).filter((v) => next.has(v)));
              }} />
              {o.label}
            </label>
          ))}
          {c.description ? <p id={help} className="help">{c.description}</p> : null}
          {error ? <p id={err} className="field-error">{error}</p> : null}
        </fieldset>
      );
    }
    case 'password': {
      const configured = field.options.some((o) => o.value !== '');
      control = (
        <input type="password" {...common} autoComplete="new-password" value={Array.isArray(value) ? '' : value}
          placeholder={configured ? 'a value is configured; type to replace it' : ''} onChange={(e) => onChange(e.target.value)} />
      );
      break;
    }
    default:
      control = <input type="text" {...common} value={Array.isArray(value) ? value.join(',') : value} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className={`field depth-${Math.min(field.depth, 3)}`} data-input={c.name}>
      <label htmlFor={id}>{label}</label>
      {control}
      {c.description ? <p id={help} className="help">{c.description}</p> : null}
      {error ? <p id={err} className="field-error">{error}</p> : null}
    </div>
  );
}

export function LaunchForm({ project, wrapperId, commandId, root, objectUri }: Props) {
  const [ui, setUi] = useState<LaunchUi>();
  const [trueValues, setTrueValues] = useState<Map<string, string>>(new Map());
  const [loadError, setLoadError] = useState<unknown>();
  const [values, setValues] = useState<FormValues>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<{ message: string; hint?: string } | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    setUi(undefined);
    setValues({});
    setFieldErrors({});
    setFormError(null);
    setLoadError(undefined);
    const path = `/xapi/projects/${enc(project)}/wrappers/${wrapperId}/launch${query({ [root]: objectUri })}`;
    getJson<LaunchUi>(path, abort.signal).then(({ data }) => setUi(data), (e: unknown) => { if (!abort.signal.aborted) setLoadError(e); });
    getJson<Command>(`/xapi/commands/${commandId}`, abort.signal).then(({ data }) => {
      setTrueValues(new Map((data.inputs ?? []).filter((i) => i.type === 'boolean' && i['true-value']).map((i) => [i.name, i['true-value'] ?? ''])));
    }, () => undefined);
    return () => abort.abort();
  }, [project, wrapperId, commandId, root, objectUri]);

  const model = useMemo(() => (ui ? fieldsOf(ui, values, trueValues) : undefined), [ui, values, trueValues]);

  if (loadError) return <ErrorBox title="Cannot prepare this launch" message={messageOf(loadError)} hint={loadError instanceof ApiError ? loadError.hint : undefined} />;
  if (!ui || !model) return <Loading what="the launch form" />;

  const set = (name: string, v: FormValues[string]): void => {
    setValues({ ...model.values, [name]: v });
    setFieldErrors(({ [name]: _gone, ...rest }) => rest);
  };
  const placement = model.fields.filter((f) => f.config.placement !== undefined);
  const basic = model.fields.filter((f) => !f.config.advanced && f.config.placement === undefined);
  const advanced = model.fields.filter((f) => f.config.advanced && f.config.placement === undefined);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setFormError(null);
    const missing = missingRequired(model.fields, model.values);
    setFieldErrors(missing);
    if (Object.keys(missing).length > 0) return;
    setSending(true);
    try {
      const res = await request('POST', `/xapi/projects/${enc(project)}/wrappers/${wrapperId}/root/${enc(root)}/launch`,
        { json: launchBody(model.fields, model.values, root) });
      const report = (await res.json()) as LaunchReport;
      if (report.id !== null) navigate(`/runs/${report.id}`);
    } catch (err) {
      const path = err instanceof ApiError ? err.path : undefined;
      const hint = err instanceof ApiError ? err.hint : undefined;
      if (path && model.fields.some((f) => f.config.name === path)) {
        setFieldErrors({ [path]: `${messageOf(err)}${hint ? ` ${hint}` : ''}` });
        setFormError({ message: `The launch was refused: see ${path}.` });
      } else setFormError({ message: messageOf(err), hint });
    } finally {
      setSending(false);
    }
  };

  const render = (f: Field) => (
    <FieldControl key={`${f.depth}-${f.config.name}`} field={f} value={model.values[f.config.name] ?? ''} error={fieldErrors[f.config.name]} onChange={(v) => set(f.config.name, v)} />
  );

  return (
    <form className="launch-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="form-title">
      <h3 id="form-title">{ui.meta['wrapper-label'] || ui.meta['wrapper-name']}</h3>
      {ui.meta['wrapper-description'] ? <p className="muted">{ui.meta['wrapper-description']}</p> : null}
      <p className="muted">Image <code>{ui.meta['image-name']}</code>. Fields marked <span className="required">*</span> are required.</p>
      {basic.map(render)}
      {advanced.length > 0 ? (
        <details className="advanced" open={advanced.some((f) => fieldErrors[f.config.name]) || undefined}>
          <summary>Advanced inputs ({advanced.length})</summary>
          {advanced.map(render)}
        </details>
      ) : null}
      {placement.length > 0 ? (
        <fieldset className="placement">
          <legend>Where it runs</legend>
          {placement.map(render)}
        </fieldset>
      ) : null}
      {formError ? <ErrorBox title="Not launched" message={formError.message} hint={formError.hint} /> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={sending}>{sending ? 'Launching…' : 'Launch'}</button>
      </div>
    </form>
  );
}
