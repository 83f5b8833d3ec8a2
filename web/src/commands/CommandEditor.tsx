/**
 * Paste a command's JSON and check it: the server validates it (`POST /xapi/commands/validate`, nothing stored)
 * and every error and warning is listed with its JSON path; text that is not JSON gets the parser's line and
 * column. Container managers can then register it (`POST /xapi/commands`).
 */
import { useId, useState } from 'react';
import { ApiError, messageOf, sendJson } from '../api/client.ts';
import type { Diagnostic, ValidationAnswer } from '../api/types.ts';
import { ErrorBox } from '../components/States.tsx';

const EXAMPLE = JSON.stringify({
  name: 'hello', version: '1', image: 'busybox:latest', type: 'docker', description: 'Says hello to a session',
  'command-line': 'echo hello #LABEL#', 'override-entrypoint': true,
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }],
  xnat: [{
    name: 'hello-session', description: 'Hello on a session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
  }],
}, null, 2);

function DiagnosticList({ items, kind }: { items: Diagnostic[]; kind: 'error' | 'warning' }) {
  if (items.length === 0) return null;
  return (
    <ul className={`diagnostics ${kind}s`} aria-label={kind === 'error' ? 'Errors' : 'Warnings'}>
      {items.map((d, i) => (
        <li key={i} className={`diagnostic ${kind}`}>
          <code className="diag-path">{d.path || '(document)'}</code> <span className="diag-message">{d.message}</span>{' '}
          <span className="muted">[{d.code}]</span>
          {d.hint ? <div className="hint">{d.hint}</div> : null}
        </li>
      ))}
    </ul>
  );
}

export function CommandEditor({ canRegister, onRegistered }: { canRegister: boolean; onRegistered: () => void }) {
  const id = useId();
  const [text, setText] = useState('');
  const [answer, setAnswer] = useState<ValidationAnswer | null>(null);
  const [problem, setProblem] = useState<{ title: string; message: string; hint?: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const check = async (): Promise<ValidationAnswer | null> => {
    setProblem(null);
    setNotice(null);
    setAnswer(null);
    if (text.trim() === '') {
      setProblem({ title: 'Nothing to check', message: 'Paste a command JSON first.' });
      return null;
    }
    try {
      const a = await sendJson<ValidationAnswer>('POST', '/xapi/commands/validate', { rawJson: text });
      setAnswer(a);
      return a;
    } catch (e) {
      setProblem({ title: e instanceof ApiError && e.status === 400 ? 'Not JSON' : 'Could not check', message: messageOf(e) });
      return null;
    }
  };
  const register = async (): Promise<void> => {
    setBusy(true);
    try {
      const a = await check();
      if (!a?.valid) return;
      const newId = await sendJson<number>('POST', '/xapi/commands', { rawJson: text });
      setNotice(`Registered as command ${newId}. Enable its wrappers for the site and your projects to launch it.`);
      onRegistered();
    } catch (e) {
      setProblem({ title: 'Not registered', message: messageOf(e), hint: e instanceof ApiError ? e.hint : undefined });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel editor" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Check a command</h2>
      <label htmlFor={`${id}-text`}>Command JSON</label>
      <textarea id={`${id}-text`} className="json" spellCheck={false} rows={18} value={text}
        aria-describedby={`${id}-help`} onChange={(e) => { setText(e.target.value); setAnswer(null); }} />
      <p id={`${id}-help`} className="help">One command object, as in an image's <code>org.nrg.commands</code> label or <code>xcs validate</code>.</p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void check()} disabled={busy}>Check</button>
        {canRegister ? <button type="button" onClick={() => void register()} disabled={busy}>Check and register</button> : null}
        <button type="button" className="link" onClick={() => { setText(EXAMPLE); setAnswer(null); setProblem(null); }}>Insert an example</button>
      </div>
      {!canRegister ? <p className="help">Registering commands is for container managers; anyone can check one.</p> : null}
      <div aria-live="polite">
        {problem ? <ErrorBox title={problem.title} message={problem.message} hint={problem.hint} /> : null}
        {notice ? <p className="notice" role="status">{notice}</p> : null}
        {answer ? (
          <div className="verdict" data-valid={answer.valid}>
            <p className={answer.valid ? 'ok' : 'bad'}>
              <strong>{answer.valid ? 'Valid' : 'Invalid'}</strong>: {answer.errors.length} error{answer.errors.length === 1 ? '' : 's'}, {answer.warnings.length} warning{answer.warnings.length === 1 ? '' : 's'}
            </p>
            <DiagnosticList items={answer.errors} kind="error" />
            <DiagnosticList items={answer.warnings} kind="warning" />
          </div>
        ) : null}
      </div>
    </section>
  );
}
