import type { Command } from 'commander';
import { announceGeneratedAdmin } from '../generated-admin.ts';
import { XcsError } from '../../core/errors.ts';
import type { OpenedArchive } from '../../archive/open.ts';

async function withArchive<T>(data: string | undefined, fn: (o: OpenedArchive) => Promise<T>): Promise<T> {
  const { openEmbeddedArchive, defaultDataDir } = await import('../../archive/open.ts');
  const opened = await openEmbeddedArchive(data ?? defaultDataDir());
  try {
    announceGeneratedAdmin(opened);
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

function password(given: string | undefined): string {
  const p = given ?? process.env.XCS_PASSWORD;
  if (!p) throw new XcsError('cli.admin.no-password', 'give --password or set XCS_PASSWORD', { path: '--password' });
  return p;
}

export function register(program: Command): void {
  const admin = program.command('admin').description('manage users and project roles directly on a data directory');
  const user = admin.command('user').description('users');
  user.command('add <login>')
    .option('--password <pw>', 'password (or $XCS_PASSWORD)')
    .option('--email <email>').option('--first <name>').option('--last <name>')
    .option('--admin', 'make a site administrator')
    .option('--data <dir>', 'data directory (default: $XCS_HOME or ./xcs-data)')
    .action(async (login: string, o: { password?: string; email?: string; first?: string; last?: string; admin?: boolean; data?: string }) => {
      await withArchive(o.data, async ({ users }) => {
        await users.addUser({ login, password: password(o.password), email: o.email, firstName: o.first, lastName: o.last,
          siteAdmin: o.admin === true });
        process.stdout.write(`added user ${login}${o.admin ? ' (site administrator)' : ''}\n`);
      });
    });
  user.command('list').option('--data <dir>').option('--json', 'print JSON')
    .action(async (o: { data?: string; json?: boolean }) => {
      await withArchive(o.data, async ({ users }) => {
        const all = await users.listUsers();
        if (o.json) { process.stdout.write(JSON.stringify(all, null, 2) + '\n'); return; }
        for (const u of all) {
          const roles = [...(await users.projectsOf(u.login))].map(([p, r]) => `${p}:${r}`).join(' ');
          process.stdout.write(`${u.login}\t${u.siteAdmin ? 'admin' : 'user'}\t${u.enabled ? 'enabled' : 'disabled'}\t${roles}\n`);
        }
      });
    });
  user.command('passwd <login>').option('--password <pw>').option('--data <dir>')
    .action(async (login: string, o: { password?: string; data?: string }) => {
      await withArchive(o.data, async ({ users }) => {
        await users.setPassword(login, password(o.password));
        process.stdout.write(`password of ${login} changed\n`);
      });
    });
  user.command('set <login>').description('change flags of a user')
    .option('--admin <bool>', 'site administrator: true|false').option('--enabled <bool>', 'true|false').option('--data <dir>')
    .action(async (login: string, o: { admin?: string; enabled?: string; data?: string }) => {
      await withArchive(o.data, async ({ users }) => {
        const u = await users.updateUser(login, {
          ...(o.admin !== undefined ? { siteAdmin: o.admin === 'true' } : {}),
          ...(o.enabled !== undefined ? { enabled: o.enabled === 'true' } : {}),
        });
        process.stdout.write(`${u.login}: ${u.siteAdmin ? 'admin' : 'user'}, ${u.enabled ? 'enabled' : 'disabled'}\n`);
      });
    });
  admin.command('role <project> <login> <role>')
    .description('give a user a role in a project: owner, member, collaborator or none')
    .option('--data <dir>')
    .action(async (project: string, login: string, role: string, o: { data?: string }) => {
      if (!['owner', 'member', 'collaborator', 'none'].includes(role)) {
        throw new XcsError('cli.admin.role', `role must be owner, member, collaborator or none, not "${role}"`, { path: role });
      }
      await withArchive(o.data, async ({ users, archive }) => {
        await archive.require({ kind: 'project', project });
        await users.setRole(project, login, role === 'none' ? null : (role as 'owner' | 'member' | 'collaborator'));
        process.stdout.write(`${login} is now ${role} of ${project}\n`);
      });
    });
}
