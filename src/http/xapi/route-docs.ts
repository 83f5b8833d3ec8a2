/**
 * Tags and one-line summaries for the OpenAPI document, for routes whose schema declares none (the run
 * engine's routes and the many path forms that share one handler declare only what they validate). A route
 * that declares its own summary or tags keeps them. The test in test/xapi-management.test.ts fails for an
 * /xapi operation left without either, so a new route is documented where it is written or here.
 */

/** The tag of a route, from its path: the groups of reference §5. */
export function tagOf(url: string): string {
  if (/\/(bulk)?launch$/.test(url)) return 'launch';
  if (/\/(config|enabled|disabled|projects)$/.test(url)) return 'configuration';
  if (url.startsWith('/xapi/commandeventmapping') || url.startsWith('/xapi/orchestration') || url.startsWith('/xapi/events')) return 'automation';
  if (url.includes('/containers') || url.startsWith('/xapi/container/')) return 'containers';
  if (url.startsWith('/xapi/docker/image') || url.endsWith('/pull')) return 'images';
  if (url.startsWith('/xapi/docker') || url.startsWith('/xapi/jms_queues')) return 'server';
  if (url.startsWith('/xapi/users')) return 'users';
  if (url.startsWith('/xapi/archive') || url.startsWith('/xapi/siteConfig')) return 'archive';
  return 'commands';
}

const WRAPPER_FORMS = (tail: string): string[] => [
  `/xapi/wrappers/{wid}${tail}`, `/xapi/commands/{cid}/wrappers/{wname}${tail}`,
  `/xapi/projects/{project}/wrappers/{wid}${tail}`, `/xapi/projects/{project}/commands/{cid}/wrappers/{wname}${tail}`,
];

const SUMMARIES: Record<string, string> = {
  'GET /xapi/siteConfig/buildInfo': 'The XNAT version and build this server reports (for clients that check it)',
  'POST /xapi/users': 'Create a user (site administrators)',
  'GET /xapi/users': 'User logins (site administrators)',
  'GET /xapi/users/{login}': 'One user (site administrators, or the user)',
  'PUT /xapi/users/{login}': 'Change a user: names, email, password (the user, with the current password), enabled, verified, admin (site administrators); a password change or disabling ends the user\'s sessions and tokens',
  'POST /xapi/archive/upload/xml': 'Store an assessor from its XNAT XML (edit access to the session\'s project)',
  'GET /xapi/commands/{id}': 'One command with its wrappers',
  'DELETE /xapi/commands/{id}': 'Delete a command and its wrappers (container managers)',
  'DELETE /xapi/commands/{id}/wrappers/{wrapperId}': 'Delete one wrapper of a command (container managers)',
  'DELETE /xapi/wrappers/{wrapperId}': 'Delete a wrapper (container managers)',
  'PUT /xapi/wrappers/{id}/enabled': 'Enable a wrapper for the site (container managers)',
  'GET /xapi/wrappers/{id}/enabled': 'Whether a wrapper is enabled for the site',
  'PUT /xapi/wrappers/{id}/disabled': 'Disable a wrapper for the site; orchestrations using it are disabled',
  'PUT /xapi/projects/{project}/wrappers/{id}/enabled': 'Enable a wrapper in a project (project owners, container managers)',
  'GET /xapi/projects/{project}/wrappers/{id}/enabled': 'Whether a wrapper is enabled for the site and in the project',
  'PUT /xapi/projects/{project}/wrappers/{id}/disabled': 'Disable a wrapper in a project; the project\'s orchestration using it is removed',
  'POST /xapi/wrappers/{id}/root/{root}/launch': 'Launch a wrapper on a root object (inputs from query, form or JSON body)',
  'POST /xapi/projects/{project}/wrappers/{id}/root/{root}/launch': 'Launch a wrapper in a project (JSON body)',
  'POST /xapi/projects/{project}/wrapper/{id}/root/{root}/launch': 'Launch a wrapper in a project (query parameters; XNAT\'s singular form)',
  'POST /xapi/commands/{id}/wrappers/{name}/root/{root}/launch': 'Launch by command id and wrapper name',
  'POST /xapi/projects/{project}/commands/{id}/wrappers/{name}/root/{root}/launch': 'Launch by command id and wrapper name in a project',
  'POST /xapi/wrappers/{wid}/launch': 'Launch without naming the root element (deprecated form; the root is the external input given)',
  'POST /xapi/projects/{project}/wrappers/{wid}/launch': 'Launch in a project without naming the root element (deprecated form, JSON body)',
  'POST /xapi/projects/{project}/wrapper/{wid}/launch': 'Launch in a project without naming the root element (deprecated form, query parameters)',
  'POST /xapi/commands/{cid}/wrappers/{wname}/launch': 'Launch by command id and wrapper name without a root element (deprecated form)',
  'POST /xapi/projects/{project}/commands/{cid}/wrappers/{wname}/launch': 'Launch by command id and wrapper name in a project without a root element (deprecated form)',
  'GET /xapi/containers/{id}': 'One container by database id, backend container id or service id (scrubbed unless owner)',
  'POST /xapi/containers/{id}/kill': 'Kill a running container (launcher, project owner, container manager)',
  'POST /xapi/projects/{project}/containers/{id}/kill': 'Kill a running container of a project',
  'POST /xapi/containers/{id}/finalize': 'Finalize again: upload the outputs of a finished container (container managers)',
  'GET /xapi/containers/{id}/logs/{file}': 'One log stream as text: stdout or stderr (also setup/wrapup logs)',
  'GET /xapi/containers/{id}/logSince/{file}': 'Log lines since a timestamp, for following a live container',
  'GET /xapi/users/{login}/roles': 'Site roles of a user',
  'PUT /xapi/users/{login}/roles/{role}': 'Grant a site role, e.g. ContainerManager (site administrators)',
  'DELETE /xapi/users/{login}/roles/{role}': 'Withdraw a site role (site administrators)',
  'POST /xapi/docker/hubs': 'Add an image host (container managers)',
  'GET /xapi/docker/hubs/{hub}': 'One image host, by id or name',
  'POST /xapi/docker/hubs/{hub}': 'Update an image host, or only make it the default (container managers)',
  'DELETE /xapi/docker/hubs/{hub}': 'Remove an image host; the default cannot be removed (container managers)',
  'GET /xapi/docker/hubs/{hub}/ping': 'Log in to an image host and report its status',
  'GET /xapi/projects/{project}/commands/available': 'Wrappers that can run on objects of a type in a project',
  'GET /xapi/commandeventmapping/{id}': 'One command event mapping',
  'DELETE /xapi/commandeventmapping/{id}': 'Delete a command event mapping',
  'PUT /xapi/commandeventmapping/{id}/enable': 'Enable a command event mapping',
  'PUT /xapi/commandeventmapping/{id}/disable': 'Disable a command event mapping',
  'GET /xapi/orchestration': 'Every orchestration, enabled or not (container managers)',
  'GET /xapi/orchestration/project/{project}': 'Orchestrations available to a project and the one selected',
  'PUT /xapi/orchestration/project/{project}': 'Select the project\'s orchestration (enables its wrappers in the project)',
  'DELETE /xapi/orchestration/project/{project}': 'Clear the project\'s orchestration',
  'DELETE /xapi/orchestration/{id}': 'Delete an orchestration (container managers)',
  'PUT /xapi/orchestration/{id}/enabled/{flag}': 'Enable (also site-enables its wrappers) or disable an orchestration',
  'GET /xapi/events/subscription/{id}': 'One Event Service subscription',
  'PUT /xapi/events/subscription/{id}': 'Update an Event Service subscription',
  'DELETE /xapi/events/subscription/{id}': 'Delete an Event Service subscription',
  'POST /xapi/events/subscription/{id}/activate': 'Activate an Event Service subscription',
  'POST /xapi/events/subscription/{id}/deactivate': 'Deactivate an Event Service subscription',
};
for (const form of WRAPPER_FORMS('/config')) {
  const project = form.startsWith('/xapi/projects');
  SUMMARIES[`POST ${form}`] = project ? 'Set the project configuration of a wrapper (project owners, container managers)' : 'Set the site configuration of a wrapper (container managers)';
  SUMMARIES[`DELETE ${form}`] = project ? 'Remove the project configuration of a wrapper' : 'Remove the site configuration of a wrapper (the enabled flag stays)';
  SUMMARIES[`GET ${form}`] ??= project ? 'The project configuration of a wrapper, merged over the site one' : 'The site configuration of a wrapper';
}
for (const form of WRAPPER_FORMS('/enabled')) {
  const project = form.startsWith('/xapi/projects');
  SUMMARIES[`GET ${form}`] = project ? 'Whether a wrapper is enabled for the site and in the project' : 'Whether a wrapper is enabled for the site';
  SUMMARIES[`PUT ${form}`] = project ? 'Enable a wrapper in a project' : 'Enable a wrapper for the site (container managers)';
}
for (const form of WRAPPER_FORMS('/disabled')) {
  SUMMARIES[`PUT ${form}`] = form.startsWith('/xapi/projects') ? 'Disable a wrapper in a project' : 'Disable a wrapper for the site (container managers)';
}

/** The summary for `METHOD url` when its schema has none; undefined when this table has none either. */
export function summaryOf(method: string, url: string): string | undefined {
  return SUMMARIES[`${method} ${url.replace(/:(\w+)/g, '{$1}')}`];
}
