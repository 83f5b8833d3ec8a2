/**
 * Security events (failed sign-ins, refused locked-out sign-ins) as one JSON line each on stderr, whether or
 * not the HTTP request logger is on, so an administrator or fail2ban can watch them. Never a password.
 */

export interface FailedSignIn {
  event: 'sign-in.failed';
  login: string;
  address: string;
  /** ISO 8601. */
  time: string;
  /** `wrong-credentials`, `locked-login`, `locked-address`. */
  reason: string;
  method: string;
  path: string;
}

export type SecurityLog = (entry: FailedSignIn) => void;

/** Writes each event as one JSON line on stderr. */
export const stderrSecurityLog: SecurityLog = (entry) => {
  process.stderr.write(`${JSON.stringify({ level: 'warn', ...entry })}\n`);
};
