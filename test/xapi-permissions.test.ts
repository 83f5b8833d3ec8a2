// The /xapi permission matrix over real HTTP (real server, archive, engine and Docker): every route of the
// OpenAPI document × seven roles, against an explicit table. A route without a table entry fails the test.
// The access rule (ARCHITECTURE.md): guests 401; a user who cannot read the project (or the object's project)
// gets the same 404 as for a missing one; readers lacking the level, and non-managers on site-wide routes, 403.
// Requests run per route in the order guest → other → collab → member → owner → cm → admin, with bodies and
// ids chosen so that an allowed request does no harm (unknown ids: 404 after the check; bad bodies: 400).
// Also: a `sensitive` input value never appears in any /xapi response nor in the saved logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const ROLES = ['guest', 'other', 'collab', 'member', 'owner', 'cm', 'admin'] as const;
type Role = (typeof ROLES)[number];
type Row = Record<Role, number>;
const PW = 'pw-perm-1';
const SECRET = 'S3cr3t-v4lue-xyz';

let s: TestServer;
const headers = (r: Role): Record<string, string> => (r === 'guest' ? {} : r === 'admin' ? basic('admin', s.adminPassword) : basic(r, PW));

const COMMAND = {
  name: 'perm-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'echo #LABEL# #TOKEN# > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true },
    { name: 'token', 'replacement-key': '#TOKEN#', sensitive: true, required: false }],
  outputs: [{ name: 'result', mount: 'out', required: false }],
  xnat: [{
    name: 'perm-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: 'ECHO' }],
  }],
};

// Profiles, by role: the status of an allowed request is given; refusals follow the rule.
const prof = (o: Partial<Row>, ok: number, dflt: number): Row =>
  Object.fromEntries(ROLES.map((r) => [r, r === 'guest' ? 401 : (o[r] ?? dflt)])) as Row;
/** Any signed-in user. */
const AUTH = (ok: number): Row => prof({}, ok, ok);
/** Container managers (site admins are ones). */
const CM = (ok: number): Row => prof({ cm: ok, admin: ok }, ok, 403);
/** Site administrators only. */
const ADMIN = (ok: number): Row => prof({ admin: ok }, ok, 403);
/** Project P: readers; others 404. `cm` says what a container manager without project role gets. */
const READ = (ok: number, cm = 404): Row => prof({ admin: ok, cm, owner: ok, member: ok, collab: ok, other: 404 }, ok, 404);
/** Project P: members and owners; collaborators 403; others 404. */
const EDIT = (ok: number, cm = 404): Row => prof({ admin: ok, cm, owner: ok, member: ok, collab: 403, other: 404 }, ok, 404);
/** Project P: owners (and container managers); members and collaborators 403; others 404. */
const OWN = (ok: number, cm = ok): Row => prof({ admin: ok, cm, owner: ok, member: 403, collab: 403, other: 404 }, ok, 404);
const row = (o: Row, patch: Partial<Row>): Row => ({ ...o, ...patch });

/** `xml` is sent raw as `application/xml` instead of a JSON `body`. */
interface Entry { expect: Row; path?: string; body?: unknown; xml?: string }
let ctx: { cid: number; wid: number; session: string; run: number; mapping: number; orch: number; subscription: number };

/** The table: `METHOD openapi-path` → expected status by role, with the concrete path and body. */
function table(): Record<string, Entry> {
  const { cid, wid, session, run, mapping, orch, subscription } = ctx;
  const sq = `session=${encodeURIComponent(session)}`;
  const nocmd = { name: '' };
  return {
    'GET /xapi/siteConfig/buildInfo': { expect: AUTH(200) },
    // Assessor XML: edit on the session's project; the label is invalid, so an allowed upload stores nothing (400).
    'POST /xapi/archive/upload/xml': { expect: EDIT(400), xml: `<xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" label="bad label">` +
      `<xnat:imageSession_ID>${session.split('/').pop()}</xnat:imageSession_ID></xnat:QCAssessment>` },
    'POST /xapi/users': { expect: ADMIN(400), body: {} },
    // User accounts: site administrators; a user reads their own.
    'GET /xapi/users': { expect: ADMIN(200) },
    'GET /xapi/users/{login}': { expect: row(ADMIN(200), { member: 200 }), path: '/xapi/users/member' },
    // An empty change: administrators change anyone, users themselves.
    'PUT /xapi/users/{login}': { expect: row(ADMIN(200), { member: 200 }), path: '/xapi/users/member', body: {} },
    // Sign-in locks (in memory): site administrators only; lifting a lock that is not there changes nothing.
    'GET /xapi/users/{login}/lockout': { expect: ADMIN(200), path: '/xapi/users/member/lockout' },
    'DELETE /xapi/users/{login}/lockout': { expect: ADMIN(200), path: '/xapi/users/nobody-locked/lockout' },
    'DELETE /xapi/lockouts/addresses/{address}': { expect: ADMIN(200), path: '/xapi/lockouts/addresses/192.0.2.1' },
    // Webhooks: site administrators, and owners for their own project; a webhook not yours is as if it did not exist.
    'POST /xapi/notifications/webhooks': { expect: prof({ admin: 201, owner: 201 }, 201, 403),
      body: { url: 'http://127.0.0.1:9/hook', events: ['run.failed'], secret: 'hook-secret-0123456789', project: 'P' } },
    'GET /xapi/notifications/webhooks': { expect: AUTH(200) },
    'GET /xapi/notifications/webhooks/{id}': { expect: AUTH(404), path: '/xapi/notifications/webhooks/999999' },
    'DELETE /xapi/notifications/webhooks/{id}': { expect: AUTH(404), path: '/xapi/notifications/webhooks/999999' },
    'GET /xapi/notifications/webhooks/{id}/deliveries': { expect: AUTH(404), path: '/xapi/notifications/webhooks/999999/deliveries' },
    // The status stream never ends: a bad resume id is refused before it starts (who sees what: ops-stream.test.ts).
    'GET /xapi/containers/events': { expect: AUTH(400), path: '/xapi/containers/events?lastEventId=not-a-number' },
    // Commands: reading is for any signed-in user; writing for container managers.
    'POST /xapi/commands': { expect: CM(400), body: nocmd },
    // Checking a command stores nothing: any signed-in user, valid or not (200).
    'POST /xapi/commands/validate': { expect: AUTH(200), body: nocmd },
    'GET /xapi/commands': { expect: AUTH(200) },
    'GET /xapi/commands/{id}': { expect: AUTH(200), path: `/xapi/commands/${cid}` },
    'POST /xapi/commands/{id}': { expect: CM(400), path: `/xapi/commands/${cid}`, body: nocmd },
    'POST /xapi/command/{id}/visibility/{visibility}': { expect: CM(200), path: `/xapi/command/${cid}/visibility/public` },
    'DELETE /xapi/commands/{id}': { expect: CM(404), path: '/xapi/commands/999999' },
    'POST /xapi/commands/{id}/wrappers': { expect: CM(400), path: `/xapi/commands/${cid}/wrappers`, body: {} },
    'POST /xapi/commands/{id}/wrappers/{wrapperId}': { expect: CM(400), path: `/xapi/commands/${cid}/wrappers/${wid}`, body: { name: '' } },
    'DELETE /xapi/commands/{id}/wrappers/{wrapperId}': { expect: CM(404), path: `/xapi/commands/${cid}/wrappers/999999` },
    'DELETE /xapi/wrappers/{wrapperId}': { expect: CM(404), path: '/xapi/wrappers/999999' },
    // Enablement and configuration: site-wide by container managers; per project by owners (and managers).
    'PUT /xapi/wrappers/{id}/enabled': { expect: CM(200), path: `/xapi/wrappers/${wid}/enabled` },
    'GET /xapi/wrappers/{id}/enabled': { expect: CM(200), path: `/xapi/wrappers/${wid}/enabled` },
    'PUT /xapi/wrappers/{id}/disabled': { expect: CM(404), path: '/xapi/wrappers/999999/disabled' },
    'PUT /xapi/projects/{project}/wrappers/{id}/enabled': { expect: OWN(200), path: `/xapi/projects/P/wrappers/${wid}/enabled` },
    'GET /xapi/projects/{project}/wrappers/{id}/enabled': { expect: EDIT(200, 200), path: `/xapi/projects/P/wrappers/${wid}/enabled` },
    'PUT /xapi/projects/{project}/wrappers/{id}/disabled': { expect: OWN(404), path: '/xapi/projects/P/wrappers/999999/disabled' },
    'GET /xapi/commands/{cid}/wrappers/{wname}/config': { expect: CM(200), path: `/xapi/commands/${cid}/wrappers/perm-session/config` },
    'POST /xapi/commands/{cid}/wrappers/{wname}/config': { expect: CM(400), path: `/xapi/commands/${cid}/wrappers/perm-session/config`, body: { inputs: 1 } },
    'DELETE /xapi/commands/{cid}/wrappers/{wname}/config': { expect: CM(404), path: `/xapi/commands/${cid}/wrappers/nope/config` },
    'GET /xapi/commands/{cid}/wrappers/{wname}/enabled': { expect: CM(200), path: `/xapi/commands/${cid}/wrappers/perm-session/enabled` },
    'PUT /xapi/commands/{cid}/wrappers/{wname}/enabled': { expect: CM(200), path: `/xapi/commands/${cid}/wrappers/perm-session/enabled` },
    'PUT /xapi/commands/{cid}/wrappers/{wname}/disabled': { expect: CM(404), path: `/xapi/commands/${cid}/wrappers/nope/disabled` },
    'GET /xapi/wrappers/{wid}/config': { expect: CM(200), path: `/xapi/wrappers/${wid}/config` },
    'POST /xapi/wrappers/{wid}/config': { expect: CM(400), path: `/xapi/wrappers/${wid}/config`, body: { inputs: 1 } },
    'DELETE /xapi/wrappers/{wid}/config': { expect: CM(404), path: '/xapi/wrappers/999999/config' },
    'GET /xapi/wrappers/{wid}/projects': { expect: CM(200), path: `/xapi/wrappers/${wid}/projects` },
    'GET /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/config': { expect: EDIT(200, 200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/config` },
    'POST /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/config': { expect: OWN(400), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/config`, body: { inputs: 1 } },
    'DELETE /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/config': { expect: OWN(404), path: `/xapi/projects/P/commands/${cid}/wrappers/nope/config` },
    'GET /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/enabled': { expect: EDIT(200, 200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/enabled` },
    'PUT /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/enabled': { expect: OWN(200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/enabled` },
    'PUT /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/disabled': { expect: OWN(404), path: `/xapi/projects/P/commands/${cid}/wrappers/nope/disabled` },
    'GET /xapi/projects/{project}/wrappers/{wid}/config': { expect: EDIT(200, 200), path: `/xapi/projects/P/wrappers/${wid}/config` },
    'POST /xapi/projects/{project}/wrappers/{wid}/config': { expect: OWN(400), path: `/xapi/projects/P/wrappers/${wid}/config`, body: { inputs: 1 } },
    'DELETE /xapi/projects/{project}/wrappers/{wid}/config': { expect: OWN(404), path: '/xapi/projects/P/wrappers/999999/config' },
    // Launch: members and owners, on objects they can read (a bad input value keeps allowed launches from running).
    'POST /xapi/wrappers/{id}/root/{root}/launch': { expect: EDIT(400), path: `/xapi/wrappers/${wid}/root/session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/wrappers/{id}/root/{root}/launch': { expect: EDIT(400), path: `/xapi/projects/P/wrappers/${wid}/root/session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/wrapper/{id}/root/{root}/launch': { expect: EDIT(400), path: `/xapi/projects/P/wrapper/${wid}/root/session/launch?${sq}&token=a%3Bb` },
    'POST /xapi/commands/{id}/wrappers/{name}/root/{root}/launch': { expect: EDIT(400), path: `/xapi/commands/${cid}/wrappers/perm-session/root/session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/commands/{id}/wrappers/{name}/root/{root}/launch': { expect: EDIT(400), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/root/session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/wrappers/{wid}/root/{root}/bulklaunch': { expect: AUTH(200), path: `/xapi/wrappers/${wid}/root/session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/commands/{cid}/wrappers/{wname}/root/{root}/bulklaunch': { expect: AUTH(200), path: `/xapi/commands/${cid}/wrappers/perm-session/root/session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/projects/{project}/wrappers/{wid}/root/{root}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/wrappers/${wid}/root/session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/root/{root}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/root/session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    // The deprecated forms without a root element (the root is inferred from the values).
    'POST /xapi/wrappers/{wid}/launch': { expect: EDIT(400), path: `/xapi/wrappers/${wid}/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/wrappers/{wid}/launch': { expect: EDIT(400), path: `/xapi/projects/P/wrappers/${wid}/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/wrapper/{wid}/launch': { expect: EDIT(400), path: `/xapi/projects/P/wrapper/${wid}/launch?${sq}&token=a%3Bb` },
    'POST /xapi/commands/{cid}/wrappers/{wname}/launch': { expect: EDIT(400), path: `/xapi/commands/${cid}/wrappers/perm-session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/launch': { expect: EDIT(400), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/launch`, body: { session, token: 'a;b' } },
    'POST /xapi/wrappers/{wid}/bulklaunch': { expect: AUTH(200), path: `/xapi/wrappers/${wid}/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/commands/{cid}/wrappers/{wname}/bulklaunch': { expect: AUTH(200), path: `/xapi/commands/${cid}/wrappers/perm-session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/projects/{project}/wrappers/{wid}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/wrappers/${wid}/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    'POST /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/bulklaunch?dryRun=true`, body: { session: JSON.stringify([session]) } },
    // The bulk launch UI: as the launch UI, for a sample target.
    'GET /xapi/wrappers/{wid}/bulklaunch': { expect: row(READ(200), { cm: 404 }), path: `/xapi/wrappers/${wid}/bulklaunch?rootElement=session&sampleTarget=${encodeURIComponent(session)}` },
    'GET /xapi/commands/{cid}/wrappers/{wname}/bulklaunch': { expect: READ(200), path: `/xapi/commands/${cid}/wrappers/perm-session/bulklaunch?rootElement=session&sampleTarget=${encodeURIComponent(session)}` },
    'GET /xapi/projects/{project}/wrappers/{wid}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/wrappers/${wid}/bulklaunch?rootElement=session&sampleTarget=${encodeURIComponent(session)}` },
    'GET /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/bulklaunch': { expect: READ(200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/bulklaunch?rootElement=session&sampleTarget=${encodeURIComponent(session)}` },
    'GET /xapi/wrappers/{wid}/launch': { expect: row(READ(200), { cm: 404 }), path: `/xapi/wrappers/${wid}/launch?${sq}` },
    'GET /xapi/commands/{cid}/wrappers/{wname}/launch': { expect: READ(200), path: `/xapi/commands/${cid}/wrappers/perm-session/launch?${sq}` },
    'GET /xapi/projects/{project}/wrappers/{wid}/launch': { expect: READ(200), path: `/xapi/projects/P/wrappers/${wid}/launch?${sq}` },
    'GET /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/launch': { expect: READ(200), path: `/xapi/projects/P/commands/${cid}/wrappers/perm-session/launch?${sq}` },
    'GET /xapi/commands/available': { expect: READ(200), path: '/xapi/commands/available?project=P&xsiType=xnat:mrSessionData' },
    'GET /xapi/projects/{project}/commands/available': { expect: READ(200), path: '/xapi/projects/P/commands/available?xsiType=xnat:mrSessionData' },
    'GET /xapi/commands/available/site': { expect: AUTH(200), path: '/xapi/commands/available/site?xsiType=xnat:mrSessionData' },
    'GET /xapi/availability': { expect: READ(200), path: `/xapi/availability?object=${encodeURIComponent(session)}` },
    // Containers: visible to readers of the project (scrubbed unless launcher, owner or manager); acting on
    // one needs the launcher, a project owner or a manager.
    'GET /xapi/containers': { expect: AUTH(200) },
    'GET /xapi/projects/{project}/containers': { expect: READ(200, 200), path: '/xapi/projects/P/containers' },
    'GET /xapi/containers/version': { expect: AUTH(200) },
    'POST /xapi/containers': { expect: AUTH(200), body: { page: 1, size: 10, filters: { project: { eq: 'P' } } } },
    'GET /xapi/containers/{id}/logs': { expect: row(OWN(200), { member: 200 }), path: `/xapi/containers/${run}/logs` },
    'DELETE /xapi/containers/{id}': { expect: prof({ admin: 404, cm: 404, owner: 404, member: 404, collab: 404, other: 404 }, 404, 404), path: '/xapi/containers/999999' },
    'GET /xapi/containers/{id}': { expect: READ(200, 200), path: `/xapi/containers/${run}` },
    'GET /xapi/container/name/{name}': { expect: CM(404), path: '/xapi/container/name/nope' },
    'GET /xapi/projects/{project}/containers/name/{name}': { expect: READ(404), path: '/xapi/projects/P/containers/name/nope' },
    'POST /xapi/containers/{id}/kill': { expect: row(OWN(409), { member: 409 }), path: `/xapi/containers/${run}/kill` },
    'POST /xapi/projects/{project}/containers/{id}/kill': { expect: row(OWN(409), { member: 409 }), path: `/xapi/projects/P/containers/${run}/kill` },
    'POST /xapi/containers/{id}/finalize': { expect: CM(404), path: '/xapi/containers/999999/finalize' },
    // Relaunch (XCS): acting on the run (launcher, owner, manager), then launching as the caller (edit access to P): a
    // manager without a role in P gets P's 404. Each allowed role starts a new run of the ended one.
    'POST /xapi/containers/{id}/relaunch': { expect: row(OWN(200), { member: 200, cm: 404 }), path: `/xapi/containers/${run}/relaunch` },
    // Bulk relaunch reports per id; an id nobody has is a failure in the report, for every signed-in user.
    'POST /xapi/containers/relaunch': { expect: AUTH(200), body: { ids: [999999] } },
    'GET /xapi/containers/{id}/logs/{file}': { expect: row(OWN(200), { member: 200 }), path: `/xapi/containers/${run}/logs/stdout` },
    'GET /xapi/containers/{id}/logSince/{file}': { expect: row(OWN(200), { member: 200 }), path: `/xapi/containers/${run}/logSince/stdout` },
    // Provenance: as reading the container (readers of P get it scrubbed); queries need the object readable
    // (managers read every run), and leave out runs the caller may not see.
    'GET /xapi/containers/{id}/provenance': { expect: READ(200, 200), path: `/xapi/containers/${run}/provenance` },
    'GET /xapi/provenance/produced': { expect: READ(200, 200), path: `/xapi/provenance/produced?object=${encodeURIComponent(`${session}/resources/ECHO`)}` },
    'GET /xapi/provenance/used': { expect: READ(200, 200), path: `/xapi/provenance/used?object=${encodeURIComponent(session)}` },
    // The console's dashboard: any signed-in user, counting only the runs they may see (console-api.test.ts).
    'GET /xapi/dashboard': { expect: AUTH(200), path: '/xapi/dashboard?hours=24' },
    'GET /xapi/provenance/by-image': { expect: AUTH(200), path: '/xapi/provenance/by-image?digest=xcs-test/busybox:latest' },
    // Roles: site administrators manage them; users read their own.
    'GET /xapi/users/{login}/roles': { expect: row(ADMIN(200), { member: 200 }), path: '/xapi/users/member/roles' },
    'PUT /xapi/users/{login}/roles/{role}': { expect: ADMIN(400), path: '/xapi/users/member/roles/Wizard' },
    'DELETE /xapi/users/{login}/roles/{role}': { expect: ADMIN(400), path: '/xapi/users/member/roles/Wizard' },
    // Server, hubs, images, queues: read by any signed-in user (queues: managers), written by managers.
    'GET /xapi/docker/server': { expect: AUTH(200) },
    'POST /xapi/docker/server': { expect: CM(400), body: { backend: 'docker', host: '' } },
    'GET /xapi/docker/server/ping': { expect: AUTH(200) },
    'GET /xapi/docker/server/pull-on-init': { expect: CM(200) },
    'GET /xapi/docker/hubs': { expect: AUTH(200) },
    'POST /xapi/docker/hubs': { expect: CM(400), body: { name: '' } },
    'GET /xapi/docker/hubs/{hub}': { expect: AUTH(200), path: '/xapi/docker/hubs/1' },
    'POST /xapi/docker/hubs/{hub}': { expect: CM(404), path: '/xapi/docker/hubs/999', body: {} },
    'DELETE /xapi/docker/hubs/{hub}': { expect: CM(404), path: '/xapi/docker/hubs/999' },
    'GET /xapi/docker/hubs/{hub}/ping': { expect: AUTH(404), path: '/xapi/docker/hubs/999/ping' },
    'GET /xapi/jms_queues': { expect: CM(200) },
    'POST /xapi/jms_queues': { expect: CM(400), body: { bogus: 1 } },
    'GET /xapi/docker/images': { expect: AUTH(200) },
    'GET /xapi/docker/image-summaries': { expect: AUTH(200) },
    'GET /xapi/docker/images/{*}': { expect: AUTH(404), path: '/xapi/docker/images/xcs-test/no-such-image:0' },
    'DELETE /xapi/docker/images/{*}': { expect: CM(404), path: '/xapi/docker/images/xcs-test/no-such-image:0' },
    // The archive as resolution sees it (xcs resolve --url): readers of P; others as if it did not exist.
    'GET /xapi/resolution/object': { expect: READ(200), path: `/xapi/resolution/object?uri=${encodeURIComponent(session)}` },
    'GET /xapi/resolution/children': { expect: READ(200), path: `/xapi/resolution/children?uri=${encodeURIComponent(session)}&kind=scans` },
    'GET /xapi/resolution/ancestor': { expect: READ(200), path: `/xapi/resolution/ancestor?uri=${encodeURIComponent(session)}&ancestor=Subject` },
    'POST /xapi/docker/images/save': { expect: CM(404), path: '/xapi/docker/images/save?image=xcs-test/no-such-image:0' },
    'POST /xapi/docker/pull': { expect: CM(400), path: '/xapi/docker/pull?image=sha256:abc' },
    'POST /xapi/docker/hubs/{hub}/pull': { expect: CM(404), path: '/xapi/docker/hubs/999/pull?image=x:1' },
    // Automation: project owners (and managers) write; readers of the project read.
    'GET /xapi/commandeventmapping': { expect: AUTH(200) },
    'POST /xapi/commandeventmapping': { expect: OWN(400), body: { 'event-type': 'SessionArchived', 'command-id': 0, project: 'P' } },
    'GET /xapi/commandeventmapping/{id}': { expect: row(READ(200), { cm: 200 }), path: `/xapi/commandeventmapping/${mapping}` },
    'DELETE /xapi/commandeventmapping/{id}': { expect: row(OWN(404), { member: 404, collab: 404 }), path: '/xapi/commandeventmapping/999999' },
    'PUT /xapi/commandeventmapping/{id}/enable': { expect: OWN(200), path: `/xapi/commandeventmapping/${mapping}/enable` },
    'PUT /xapi/commandeventmapping/{id}/disable': { expect: OWN(200), path: `/xapi/commandeventmapping/${mapping}/disable` },
    // Converting again answers the same subscription (201), so every allowed role gets 201.
    'POST /xapi/commandeventmapping/{id}/convert': { expect: OWN(201), path: `/xapi/commandeventmapping/${mapping}/convert` },
    'GET /xapi/events/subscriptions': { expect: AUTH(200) },
    'GET /xapi/events/subscription/{id}': { expect: row(READ(200), { cm: 200 }), path: `/xapi/events/subscription/${subscription}` },
    'POST /xapi/events/subscription': { expect: OWN(400), body: { name: 'x', 'action-key': 'org.nrg.containers.services.CommandActionProvider:999999',
      'event-filter': { 'event-type': 'org.nrg.xnat.eventservice.events.SessionEvent', 'project-ids': ['P'], status: 'CREATED' } } },
    'PUT /xapi/events/subscription/{id}': { expect: OWN(400), path: `/xapi/events/subscription/${subscription}`, body: { 'event-filter': { status: 'NEVER' } } },
    'POST /xapi/events/subscription/{id}/activate': { expect: OWN(200), path: `/xapi/events/subscription/${subscription}/activate` },
    'POST /xapi/events/subscription/{id}/deactivate': { expect: OWN(200), path: `/xapi/events/subscription/${subscription}/deactivate` },
    'DELETE /xapi/events/subscription/{id}': { expect: row(OWN(404), { member: 404, collab: 404 }), path: '/xapi/events/subscription/999999' },
    'POST /xapi/orchestration': { expect: CM(400), body: { name: 'x', wrapperIds: [wid] } },
    'GET /xapi/orchestration': { expect: CM(200) },
    'GET /xapi/orchestration/project/{project}': { expect: EDIT(200, 404), path: '/xapi/orchestration/project/P' },
    'PUT /xapi/orchestration/project/{project}': { expect: OWN(404), path: '/xapi/orchestration/project/P?orchestrationId=999999' },
    'DELETE /xapi/orchestration/project/{project}': { expect: OWN(204), path: '/xapi/orchestration/project/P' },
    'DELETE /xapi/orchestration/{id}': { expect: CM(404), path: '/xapi/orchestration/999999' },
    'PUT /xapi/orchestration/{id}/enabled/{flag}': { expect: CM(200), path: `/xapi/orchestration/${orch}/enabled/true` },
  };
}

before(async () => {
  s = await startTestServer();
  const { users, archive } = s.opened;
  for (const u of ['cm', 'owner', 'member', 'collab', 'other']) await users.addUser({ login: u, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await archive.createProject({ id: 'Q' }, 'admin');
  await users.setRole('P', 'owner', 'owner');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'collab', 'collaborator');
  await users.setRole('Q', 'other', 'owner');
  const admin = headers('admin');
  assert.equal((await call(s.url, 'PUT', '/xapi/users/cm/roles/ContainerManager', { headers: admin })).status, 200);
  // The webhook row registers http://127.0.0.1:9/hook: loopback must be listed for it (the guard: ops-webhook-guard.test.ts).
  const allow = await call(s.url, 'POST', '/xapi/docker/server', { headers: admin,
    json: { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'webhook-allowed-hosts': ['127.0.0.1'] } });
  assert.equal(allow.status, 201, allow.text);
  const subj = await archive.createSubject('P', { label: 'S1' }, 'admin');
  const e = await archive.createSession(subj.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin');
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  const cid = Number(reg.body);
  const second = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: { ...COMMAND, name: 'perm-echo-2' } });
  const cmd = (await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: admin })).body as { xnat: Array<{ id: number }> };
  const cmd2 = (await call(s.url, 'GET', `/xapi/commands/${Number(second.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> };
  const wid = cmd.xnat[0].id;
  for (const w of [wid, cmd2.xnat[0].id]) {
    assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${w}/enabled`, { headers: admin })).status, 200);
    assert.equal((await call(s.url, 'PUT', `/xapi/projects/P/wrappers/${w}/enabled`, { headers: admin })).status, 200);
  }
  const session = e.archiveUri;
  // A run launched by the member, with a sensitive value; it finishes before the matrix acts on it.
  const launched = await call(s.url, 'POST', `/xapi/projects/P/wrappers/${wid}/root/session/launch`, { headers: headers('member'), json: { session, token: SECRET } });
  assert.equal(launched.status, 200, launched.text);
  assert.ok(!launched.text.includes(SECRET), `the launch report hides the sensitive value: ${launched.text}`);
  const run = (launched.body as { id: number }).id;
  let status = '';
  for (let i = 0; i < 300 && !/^(Complete|Failed|Killed)/.test(status); i++) {
    status = ((await call(s.url, 'GET', `/xapi/containers/${run}`, { headers: admin })).body as { status: string }).status;
    if (!/^(Complete|Failed|Killed)/.test(status)) await sleep(100);
  }
  assert.equal(status, 'Complete');
  const m = await call(s.url, 'POST', '/xapi/commandeventmapping', { headers: admin,
    json: { 'event-type': 'SessionArchived', 'command-id': cid, 'xnat-command-wrapper': 'perm-session', project: 'P', enabled: false } });
  assert.equal(m.status, 201, m.text);
  const o = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'two', wrapperIds: [wid, cmd2.xnat[0].id] } });
  assert.equal(o.status, 200, o.text);
  // An inactive subscription of project P (its activate/deactivate rows leave it inactive).
  const sub = await call(s.url, 'POST', '/xapi/events/subscription', { headers: admin, json: { name: 'perm-sub', active: false,
    'action-key': `org.nrg.containers.services.CommandActionProvider:${wid}`,
    'event-filter': { 'event-type': 'org.nrg.xnat.eventservice.events.SessionEvent', 'project-ids': ['P'], status: 'CREATED' } } });
  assert.equal(sub.status, 201, sub.text);
  ctx = { cid, wid, session, run, mapping: (m.body as { id: number }).id, orch: (o.body as { id: number }).id, subscription: (sub.body as { id: number }).id };
});

after(async () => {
  await stopWithContainers(s);
});

test('the matrix covers every route of the OpenAPI document, and every cell holds', async () => {
  const doc = (await call(s.url, 'GET', '/xapi/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`));
  const t = table();
  const missing = routes.filter((r) => !(r in t));
  assert.deepEqual(missing, [], 'every /xapi route needs an entry in the permission matrix');
  const stale = Object.keys(t).filter((k) => !routes.includes(k));
  assert.deepEqual(stale, [], 'matrix entries for routes that no longer exist');

  const wrong: string[] = [];
  for (const key of routes) {
    const e = t[key];
    const [method, openPath] = key.split(' ');
    const path = e.path ?? openPath;
    for (const role of ROLES) {
      const r = e.xml !== undefined
        ? await call(s.url, method, path, { headers: { ...headers(role), 'content-type': 'application/xml' }, body: e.xml })
        : await call(s.url, method, path, { headers: headers(role), ...(e.body !== undefined ? { json: e.body } : {}) });
      if (r.status !== e.expect[role]) wrong.push(`${key} as ${role}: ${r.status}, expected ${e.expect[role]} (${r.text.slice(0, 120)})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('guests: 401 everywhere but the OpenAPI document and the docs page', async () => {
  assert.equal((await call(s.url, 'GET', '/xapi/openapi.json')).status, 200);
  assert.equal((await call(s.url, 'GET', '/xapi/docs')).status, 200);
});

test('a missing project and an unreadable one get the same answer', async () => {
  for (const p of ['/xapi/projects/{p}/containers', '/xapi/projects/{p}/commands/available?xsiType=xnat:mrSessionData', '/xapi/orchestration/project/{p}']) {
    const hidden = await call(s.url, 'GET', p.replace('{p}', 'P'), { headers: headers('other') });
    const missing = await call(s.url, 'GET', p.replace('{p}', 'NOPE'), { headers: headers('other') });
    assert.equal(hidden.status, 404, p);
    assert.equal(missing.status, 404, p);
    assert.equal((hidden.body as { message: string }).message.replace('P', 'X'), (missing.body as { message: string }).message.replace('NOPE', 'X'), p);
  }
});

test('a sensitive input value shows in no /xapi response and no saved log', async () => {
  const { run } = ctx;
  const seen: string[] = [];
  for (const role of ['admin', 'member', 'owner', 'collab'] as const) {
    for (const path of [`/xapi/containers/${run}`, '/xapi/containers?all=true', '/xapi/projects/P/containers', `/xapi/containers/${run}/logs/stdout`,
      `/xapi/containers/${run}/logs/stderr`, `/xapi/containers/${run}/logSince/stdout`, `/xapi/containers/${run}/provenance`]) {
      const r = await call(s.url, 'GET', path, { headers: headers(role) });
      if (r.text.includes(SECRET)) seen.push(`${role} ${path}`);
    }
  }
  const full = (await call(s.url, 'GET', `/xapi/containers/${run}`, { headers: headers('member') })).body as { inputs: Array<{ name: string; value: string }>; history: unknown[] };
  assert.ok(full.history.length > 0, 'the launcher sees the history');
  assert.equal(full.inputs.find((i) => i.name === 'token')?.value, '*****');
  assert.deepEqual(seen, []);
  // The saved logs and the run's files on disk.
  const { readdirSync, readFileSync, statSync } = await import('node:fs');
  const hits: string[] = [];
  const logs = join(s.dir, 'data');
  for (const p of readdirSync(logs, { recursive: true }) as string[]) {
    if (!/log/i.test(p)) continue;
    const f = join(logs, p);
    if (statSync(f).isFile() && readFileSync(f).includes(SECRET)) hits.push(p);
  }
  assert.deepEqual(hits, [], 'no saved log holds the value');
});
