/**
 * Telling the operator the site administrator's generated password (first start on a new data directory).
 * It is shown once, on the terminal. When the output is not a terminal (a service, `> server.log`), it
 * would land in a log file that others may read and that outlives the first sign-in, so it goes instead
 * into `{dataDir}/initial-admin-password`, readable by this user only, and the output says where it is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenedArchive } from '../archive/open.ts';

export const PASSWORD_FILE = 'initial-admin-password';

/** Reports `opened.generatedAdmin`, if any, on `out` when it is a terminal, else through the private file. */
export function announceGeneratedAdmin(opened: OpenedArchive, out: NodeJS.WriteStream = process.stdout): void {
  const admin = opened.generatedAdmin;
  if (!admin) return;
  if (out.isTTY) {
    out.write(`Created site administrator "${admin.login}" with password: ${admin.password}\n` +
      '(shown once; change it with: xcs admin user passwd)\n');
    return;
  }
  const file = join(opened.dataDir, PASSWORD_FILE);
  writeFileSync(file, `${admin.login}\n${admin.password}\n`, { mode: 0o600, flag: 'wx' });
  out.write(`Created site administrator "${admin.login}"; its generated password is in ${file} (readable only by this ` +
    'user; delete the file once noted, and change the password with: xcs admin user passwd)\n');
}
