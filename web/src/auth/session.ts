/**
 * Signing in and out with XNAT's session endpoint: `POST /data/JSESSION` with Basic credentials once, after which
 * the server's HttpOnly `JSESSIONID` cookie authenticates every call; `DELETE /data/JSESSION` ends it. The
 * password is used for that one request and kept nowhere. The login name is remembered in sessionStorage (it
 * is no secret) so a reload can ask the server who is signed in.
 */
import { ApiError, enc, getJson, request } from '../api/client.ts';
import type { UserInfo } from '../api/types.ts';

const LOGIN_KEY = 'xcs.login';

export interface Me {
  login: string;
  name: string;
  siteAdmin: boolean;
  /** Container managers register commands (site administrators are ones). */
  containerManager: boolean;
  /** Owns at least one project: the console offers the project parts of the admin page. */
  ownsProjects: boolean;
}

function basicHeader(login: string, password: string): string {
  const bytes = new TextEncoder().encode(`${login}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

async function describe(login: string): Promise<Me> {
  const [{ data: user }, { data: roles }] = await Promise.all([
    getJson<UserInfo>(`/xapi/users/${enc(login)}`), getJson<string[]>(`/xapi/users/${enc(login)}/roles`)]);
  const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || login;
  return { login, name, siteAdmin: user.admin, containerManager: user.admin || roles.includes('ContainerManager'), ownsProjects: !(user.admin || roles.includes('ContainerManager')) && await ownsAProject(login) };
}

/** Whether any readable project lists the user among its owners (`GET /data/projects/{p}/users`). */
async function ownsAProject(login: string): Promise<boolean> {
  const { data } = await getJson<{ ResultSet: { Result: Array<{ ID: string }> } }>('/data/projects?format=json');
  // At most 50 projects, asked together: enough to offer the link; the admin page itself asks the server anyway.
  const owns = await Promise.all(data.ResultSet.Result.slice(0, 50).map(async (p) => {
    const members = await getJson<{ ResultSet: { Result: Array<{ login: string; GROUP_ID: string }> } }>(`/data/projects/${enc(p.ID)}/users?format=json`).catch(() => null);
    return members?.data.ResultSet.Result.some((m) => m.login === login && m.GROUP_ID === `${p.ID}_owner`) ?? false;
  }));
  return owns.includes(true);
}

export async function signIn(login: string, password: string): Promise<Me> {
  await request('POST', '/data/JSESSION', { headers: { Authorization: basicHeader(login, password) } });
  sessionStorage.setItem(LOGIN_KEY, login);
  return describe(login);
}

/** Who the cookie belongs to, if this tab signed in before; null when signed out or the session ended. */
export async function resume(): Promise<Me | null> {
  const login = sessionStorage.getItem(LOGIN_KEY);
  if (!login) return null;
  try {
    return await describe(login);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
      sessionStorage.removeItem(LOGIN_KEY);
      return null;
    }
    throw e;
  }
}

export async function signOut(): Promise<void> {
  sessionStorage.removeItem(LOGIN_KEY);
  await request('DELETE', '/data/JSESSION').catch(() => undefined);
}

export function forgetLogin(): void {
  sessionStorage.removeItem(LOGIN_KEY);
}
