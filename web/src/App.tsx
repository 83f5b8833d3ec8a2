/** The console's shell: who is signed in, the navigation, and which page the URL names. */
import { lazy, Suspense, useEffect, useState } from 'react';
import { messageOf, onUnauthorized } from './api/client.ts';
import { LoginPage } from './auth/LoginPage.tsx';
import { forgetLogin, resume, signOut, type Me } from './auth/session.ts';
import { CommandsPage } from './commands/CommandsPage.tsx';
import { parseDataPath } from './data/archivePath.ts';
import { DataNotFound, DataPage } from './data/DataPage.tsx';
import { ErrorBox, Loading } from './components/States.tsx';
import { LaunchPage } from './launch/LaunchPage.tsx';
import { Link, navigate, useLocation } from './router.tsx';
import { RunDetailPage } from './runs/RunDetailPage.tsx';
import { RunsPage } from './runs/RunsPage.tsx';

// The admin and dashboard pages (and uPlot) load when first opened: the data and runs pages start sooner.
const AdminPage = lazy(() => import('./admin/AdminPage.tsx').then((m) => ({ default: m.AdminPage })));
const DashboardPage = lazy(() => import('./dashboard/DashboardPage.tsx').then((m) => ({ default: m.DashboardPage })));

function Page({ me }: { me: Me }) {
  const { path } = useLocation();
  const run = /^\/runs\/(\d+)\/?$/.exec(path);
  if (run) return <RunDetailPage key={run[1]} id={Number(run[1])} />;
  if (path === '/data' || path.startsWith('/data/')) {
    const level = parseDataPath(path);
    return level ? <DataPage key={level.rest} level={level} /> : <DataNotFound path={path} />;
  }
  if (path === '/admin' || path === '/admin/') return <AdminPage me={me} />;
  if (path === '/dashboard' || path === '/dashboard/') return <DashboardPage />;
  if (path === '/launch' || path === '/launch/') return <LaunchPage />;
  if (path === '/commands' || path === '/commands/') return <CommandsPage me={me} />;
  if (path === '/' || path === '/runs' || path === '/runs/') return <RunsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>The console has no page at {path}. <Link to="/">Go to the runs</Link>.</p>
    </section>
  );
}

function NavLink({ to, label, current }: { to: string; label: string; current: boolean }) {
  return <Link to={to} aria-current={current ? 'page' : undefined}>{label}</Link>;
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [startError, setStartError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const { path } = useLocation();

  useEffect(() => {
    resume().then(setMe, (e: unknown) => { setStartError(e); setMe(null); });
    return onUnauthorized(() => {
      forgetLogin();
      setMe((was) => {
        if (was) setNotice('Your session ended; sign in again.');
        return null;
      });
    });
  }, []);

  useEffect(() => {
    // Data pages name the object themselves.
    if (path.startsWith('/data')) return;
    const title = path.startsWith('/runs/') ? `Run ${path.slice(6)}` : path.startsWith('/launch') ? 'Launch' : path.startsWith('/commands') ? 'Commands'
      : path.startsWith('/admin') ? 'Administration' : path.startsWith('/dashboard') ? 'Dashboard' : 'Runs';
    document.title = `${title} · XCS`;
  }, [path]);

  if (me === undefined) return <Loading what="the console" />;
  if (me === null) {
    return (
      <>
        {startError ? <ErrorBox title="The server did not answer" message={messageOf(startError)} /> : null}
        <LoginPage notice={notice} onSignedIn={(m) => { setNotice(undefined); setMe(m); }} />
      </>
    );
  }
  const out = async (): Promise<void> => {
    await signOut();
    setMe(null);
    setNotice('You are signed out.');
    navigate('/');
  };
  return (
    <>
      <a className="skip" href="#main">Skip to the content</a>
      <header className="top">
        <Link to="/" className="brand">XCS</Link>
        <nav aria-label="Main">
          <NavLink to="/" label="Runs" current={path === '/' || path.startsWith('/runs')} />
          <NavLink to="/data" label="Data" current={path.startsWith('/data')} />
          <NavLink to="/launch" label="Launch" current={path.startsWith('/launch')} />
          <NavLink to="/dashboard" label="Dashboard" current={path.startsWith('/dashboard')} />
          <NavLink to="/commands" label="Commands" current={path.startsWith('/commands')} />
          {me.containerManager || me.ownsProjects ? <NavLink to="/admin" label="Admin" current={path.startsWith('/admin')} /> : null}
        </nav>
        <div className="me">
          <span title={me.login}>{me.name}{me.containerManager ? <span className="muted"> · manager</span> : null}</span>
          <button type="button" onClick={() => void out()}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>
          <Page me={me} />
        </Suspense>
      </main>
    </>
  );
}
