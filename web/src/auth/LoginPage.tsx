/** The sign-in form: login and password go to `POST /data/JSESSION` once; the session cookie does the rest. */
import { useState, type FormEvent } from 'react';
import { ApiError, messageOf } from '../api/client.ts';
import { ErrorBox } from '../components/States.tsx';
import { signIn, type Me } from './session.ts';

export function LoginPage({ onSignedIn, notice }: { onSignedIn: (me: Me) => void; notice?: string }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await signIn(login.trim(), password);
      setPassword('');
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong login or password.' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to XCS</h1>
        {notice ? <p className="notice" role="status">{notice}</p> : null}
        <label htmlFor="login">Login</label>
        <input id="login" name="username" autoComplete="username" required autoFocus value={login} onChange={(e) => setLogin(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {error ? <ErrorBox message={error} /> : null}
        <button type="submit" className="primary" disabled={busy || !login || !password}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
