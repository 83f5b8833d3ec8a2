/**
 * A small history-API router for the console's few pages under /ui/. Pages read the path and query with
 * {@link useLocation}; links and code move with {@link navigate}. The server answers every /ui/ path with the
 * app, so deep links and reloads work.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

export const BASE = '/ui';

export interface Location {
  /** The path below /ui, e.g. `/runs/3`; `/` for the home page. */
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const raw = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : window.location.pathname;
  return { path: raw === '' ? '/' : raw, query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

/** Goes to a console path (`/runs/3?x=1`); `replace` keeps the history entry (filters, not new pages). */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = BASE + to;
  if (opts.replace) window.history.replaceState(null, '', url);
  else {
    window.history.pushState(null, '', url);
    window.scrollTo(0, 0);
  }
  listeners.forEach((l) => l());
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = (): void => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}

/** Sets query parameters on the current page without a new history entry. */
export function setQuery(path: string, params: Record<string, string | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  navigate(`${path}${s ? `?${s}` : ''}`, { replace: true });
}

interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  children: ReactNode;
}

/** An in-app link: a real href (open in a new tab works), moved in place on a plain click. */
export function Link({ to, children, onClick, ...rest }: LinkProps) {
  const click = (e: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={click} {...rest}>
      {children}
    </a>
  );
}
