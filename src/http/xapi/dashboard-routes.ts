/**
 * `GET /xapi/dashboard?hours=24` (XCS addition, read-only): the service at a glance for the console's dashboard —
 * runs per hour by outcome, queue wait and run time per command (percentiles), failures by cause with their hint,
 * the busiest projects (`runtime/store/run-stats.ts`). Counting 10,000 runs through the container listing would cost
 * the browser megabytes; this answers the aggregates only.
 *
 * Who sees what: container managers count every run; anyone else only the runs they launched and the runs of
 * projects they hold a role in (owner, member, collaborator) — the same rows a member's listing is drawn from,
 * reduced to counts and times (no inputs, command lines or messages besides the failure hints, which are static).
 * A run's token (scoped user) is refused: a dashboard is for people.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertNotScoped } from '../../archive/users.ts';
import { XcsError } from '../../core/errors.ts';
import { runStats } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import { userOf, type XapiContext } from './context.ts';

const MAX_HOURS = 24 * 14;

function hoursParam(value: string | undefined): number {
  if (value === undefined || value === '') return 24;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_HOURS) {
    throw new XcsError('xapi.dashboard.bad-hours', `hours must be a whole number from 1 to ${MAX_HOURS}, not "${value}"`,
      { status: 400, path: 'hours' });
  }
  return Number(value);
}

export function registerDashboardRoutes(app: FastifyInstance, ctx: XapiContext, access: AccessControl): void {
  app.get('/xapi/dashboard', {
    schema: {
      tags: ['containers'],
      summary: 'Run statistics of the last hours (per hour by outcome, per command percentiles, failures by cause, busiest projects)',
      description: 'Container managers count every run; others the runs they launched and those of projects they have a role in.',
      querystring: { type: 'object', properties: { hours: { type: 'string', description: `window in hours, 1 to ${MAX_HOURS} (default 24)` } } },
    },
  }, async (request: FastifyRequest<{ Querystring: { hours?: string } }>) => {
    const user = userOf(request);
    assertNotScoped(user, 'read the dashboard');
    const hours = hoursParam(request.query.hours);
    const now = Date.now();
    let visibleTo: { login: string; projects: string[] } | undefined;
    if (!(await access.isContainerManager(user))) visibleTo = { login: user.login, projects: [...(await access.users.projectsOf(user.login)).keys()] };
    return runStats(ctx.engine.database, { since: now - hours * 3_600_000, until: now, visibleTo });
  });
}
