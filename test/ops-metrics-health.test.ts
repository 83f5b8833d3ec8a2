// Metrics and health over real HTTP with the real engine and Docker. After a run that completes and one that
// fails, `GET /metrics` is parsed by the Prometheus project's own Python parser (Debian's
// python3-prometheus-client): the run counters by status and command, the duration histograms, the route-pattern
// labels of the HTTP histogram and the 401 counter say what happened. Metrics are refused to guests, to users who
// are not site administrators and to a wrong bearer token; the probes answer anyone and tell no internals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ensureDockerHarness } from './helpers/docker.ts';
import { auth, startOpsSite, type OpsSite } from './helpers/ops-fixture.ts';
import { call } from './xapi-helpers.ts';

let site: OpsSite;
const TOKEN = 'metrics-token-0123456789';

before(async () => {
  await ensureDockerHarness();
  process.env.XCS_METRICS_TOKEN = TOKEN;
  site = await startOpsSite(2);
});

after(async () => {
  delete process.env.XCS_METRICS_TOKEN;
  await site.stop();
});

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The exposition parsed by prometheus_client.parser: every sample with its labels. */
function parseExposition(text: string): Sample[] {
  const script = `import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: text, maxBuffer: 64 * 1024 * 1024 }).toString()) as Sample[];
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('health: live and ready answer anyone, with nothing but ok per check', async () => {
  const live = await call(site.server.url, 'GET', '/health/live');
  assert.equal(live.status, 200);
  assert.deepEqual(live.body, { status: 'ok' });
  const ready = await call(site.server.url, 'GET', '/health/ready');
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(ready.body, { status: 'ok', checks: { database: 'ok', storage: 'ok', backend: 'ok' } });
  assert.doesNotMatch(ready.text, /\/tmp|sqlite|docker\.sock|version/i);
});

test('metrics: refused to guests, non-admins and wrong tokens', async () => {
  assert.equal((await call(site.server.url, 'GET', '/metrics')).status, 401);
  assert.equal((await call(site.server.url, 'GET', '/metrics', { headers: auth('owner') })).status, 403);
  assert.equal((await call(site.server.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
  assert.equal((await call(site.server.url, 'GET', '/metrics', { headers: { authorization: 'Bearer ' } })).status, 401);
});

test('metrics after real runs, parsed by a Prometheus parser', async () => {
  const ids = [await site.launch('ok', 0), await site.launch('fail', 1)];
  const ended = await site.waitEnded(ids);
  assert.deepEqual(ended.map((r) => r.status).sort(), ['Complete', 'Failed']);
  await call(site.server.url, 'GET', `/xapi/containers/${ids[0]}`, { headers: auth('admin') });
  await call(site.server.url, 'GET', '/xapi/containers', { headers: { authorization: 'Basic bm9ib2R5Ondyb25n' } });

  // The scraper's token, and an administrator, read the same registry.
  const byToken = await fetch(`${site.server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(byToken.status, 200);
  assert.match(byToken.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = parseExposition(await byToken.text());
  assert.equal((await call(site.server.url, 'GET', '/metrics', { headers: auth('admin') })).status, 200);

  assert.equal(value(samples, 'xcs_runs_total', { status: 'Complete', command: 'ops-ok' }), 1);
  assert.equal(value(samples, 'xcs_runs_total', { status: 'Failed', command: 'ops-fail' }), 1);
  assert.equal(value(samples, 'xcs_runs_total', { status: 'Queued', command: 'ops-fail' }), 1);
  assert.equal(value(samples, 'xcs_run_duration_seconds_count', { command: 'ops-ok', outcome: 'completed' }), 1);
  assert.equal(value(samples, 'xcs_run_duration_seconds_count', { command: 'ops-fail', outcome: 'failed' }), 1);
  assert.ok((value(samples, 'xcs_run_duration_seconds_sum', { command: 'ops-ok' }) ?? 0) > 0);
  assert.equal(value(samples, 'xcs_run_queue_wait_seconds_count', { command: 'ops-ok' }), 1);
  assert.equal(value(samples, 'xcs_finalization_duration_seconds_count', { command: 'ops-ok' }), 1);
  assert.equal(value(samples, 'xcs_run_failures_total', { code: 'non-zero-exit' }), 1);
  for (const phase of ['Queued', 'Running', 'Finalizing']) assert.equal(value(samples, 'xcs_active_runs', { phase }), 0);
  assert.equal(value(samples, 'xcs_queue_depth', { queue: 'stage' }), 0);
  // Route patterns, never raw URLs (bounded labels); the wrong password counted as an auth failure.
  assert.ok((value(samples, 'xcs_http_request_duration_seconds_count', { route: '/xapi/containers/:id', method: 'GET', status: '200' }) ?? 0) >= 1);
  assert.ok(!samples.some((s) => s.name.startsWith('xcs_http') && s.labels.route === `/xapi/containers/${ids[0]}`));
  assert.ok((value(samples, 'xcs_auth_failures_total', { route: '/xapi/containers' }) ?? 0) >= 1);
  assert.ok(value(samples, 'process_cpu_user_seconds_total') !== undefined, 'process defaults are exported');
});
