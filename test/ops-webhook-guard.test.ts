// The webhook host guard (SSRF): which URLs a webhook may be registered with and where a delivery may connect.
// Registration checks run with a fake resolver for names other than localhost (no DNS traffic); deliveries go to
// real HTTP servers on 127.0.0.1 and 127.0.0.2 (the whole 127/8 is the loopback interface on Linux).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { XcsError } from '../src/core/errors.ts';
import { httpStatusOf } from '../src/http/error-mapping.ts';
import { addressRefusal, allowedHostProblem, checkWebhookUrl, hostPolicy } from '../src/notifications/webhook-guard.ts';
import { postWebhook } from '../src/notifications/webhook-send.ts';

const none = hostPolicy([]);
const realDns = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);
const fakeDns = (table: Record<string, string[]>) => async (host: string) => {
  const a = table[host];
  if (!a) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  return a;
};

async function refused(url: string, policy = none, message?: RegExp, dns = fakeDns({})): Promise<void> {
  await assert.rejects(checkWebhookUrl(url, policy, dns), (e: unknown) => {
    assert.ok(e instanceof XcsError, String(e));
    assert.equal(httpStatusOf(e), 400);
    assert.equal(e.code, 'xapi.webhook.forbidden-host');
    assert.equal(e.path, '/url');
    assert.ok(e.message.includes(url), `names the URL: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('registration: metadata, private, loopback, reserved and mapped addresses are refused naming the rule', async () => {
  await refused('http://169.254.169.254/latest/meta-data/', none, /169\.254\.169\.254 is a link-local address .*"webhook-allowed-hosts"/);
  await refused('http://10.1.2.3/hook', none, /a private address/);
  await refused('http://192.168.1.10:8080/hook', none, /a private address/);
  await refused('http://172.20.0.1/hook', none, /a private address/);
  await refused('http://127.0.0.1:5432/', none, /a loopback address/);
  await refused('http://2130706433/', none, /127\.0\.0\.1 is a loopback address/); // the decimal spelling of 127.0.0.1
  await refused('http://[::1]:8080/', none, /loopback/);
  await refused('http://[::ffff:127.0.0.1]/', none, /loopback/);
  await refused('http://[fd00::5]/', none, /private/);
  await refused('http://[fe80::1]/', none, /link-local/);
  await refused('http://0.0.0.0:8080/', none, /reserved/);
  await refused('ftp://example.org/x', none, /only http and https/);
  // A name is judged by every address it resolves to.
  await refused('http://localhost:9/hook', none, /localhost resolves to .*loopback/, realDns);
  await refused('http://inside.example/x', none, /resolves to 10\.0\.0\.7, a private address/,
    fakeDns({ 'inside.example': ['93.184.216.34', '10.0.0.7'] }));
  await refused('http://nowhere.invalid/x', none, /does not resolve/);
  // Public addresses and names pass.
  await checkWebhookUrl('https://93.184.216.34/hook', none);
  await checkWebhookUrl('https://hooks.example.org/x', none, fakeDns({ 'hooks.example.org': ['93.184.216.34', '2606:2800:220:1::1'] }));
});

test('registration: what the setting lists is allowed, and only that', async () => {
  const policy = hostPolicy(['127.0.0.1', '10.20.0.0/16', 'hooks.internal', 'fd00::/8']);
  await checkWebhookUrl('http://127.0.0.1:8080/x', policy);
  await checkWebhookUrl('http://10.20.3.4/x', policy);
  await checkWebhookUrl('http://[fd00::5]/x', policy);
  await checkWebhookUrl('http://HOOKS.internal./x', policy, fakeDns({})); // a listed name is trusted, not resolved
  await refused('http://127.0.0.2/x', policy, /loopback/);
  await refused('http://10.21.0.1/x', policy, /private/);
  await refused('http://169.254.169.254/x', policy, /link-local/);
  assert.equal(addressRefusal('::ffff:10.20.1.1', policy), null, 'a mapped address matches its IPv4 range');
});

test('setting entries: names, addresses and CIDR ranges; anything else says what it must be', () => {
  for (const ok of ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'hooks.internal', 'localhost']) assert.equal(allowedHostProblem(ok), null, ok);
  for (const badEntry of ['10.0.0.0/33', '10.0.0.0/', 'hooks/8', 'http://x', '*.example.org', '1.2.3.4/8/9', '']) {
    assert.match(allowedHostProblem(badEntry) ?? '', /must be a host name, an IP address or a CIDR range \(e\.g\. 10\.0\.0\.0\/8\), not /, badEntry);
  }
});

let target: Server;
let redirector: Server;
let targetHits = 0;
let targetUrl = '';
let redirectorUrl = '';

before(async () => {
  target = createServer((req, res) => { targetHits++; req.resume(); res.writeHead(200).end(); });
  await new Promise<void>((r) => target.listen(0, '127.0.0.2', r));
  targetUrl = `http://127.0.0.2:${(target.address() as AddressInfo).port}`;
  redirector = createServer((req, res) => { req.resume(); res.writeHead(302, { location: `${targetUrl}/stolen` }).end(); });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => target.close(r));
  await new Promise((r) => redirector.close(r));
});

test('delivery: refused before connecting to a forbidden address or a name resolving to one; redirects are not followed', async () => {
  const only1 = hostPolicy(['127.0.0.1']);
  const port = (target.address() as AddressInfo).port;
  await assert.rejects(postWebhook(`${targetUrl}/x`, '{}', {}, only1, 5000), /127\.0\.0\.2 is a loopback address/);
  await assert.rejects(postWebhook(`http://localhost:${port}/x`, '{}', {}, none, 5000), /localhost resolves to .*loopback address/);
  await assert.rejects(postWebhook(`file:///etc/passwd`, '{}', {}, none, 5000), /only http and https/);
  assert.equal(targetHits, 0, 'nothing reached the forbidden server');
  // The allowed receiver redirects to the forbidden one: the answer is the 302, the target is never called.
  const answer = await postWebhook(`${redirectorUrl}/hook`, '{}', {}, only1, 5000);
  assert.deepEqual(answer, { status: 302, location: `${targetUrl}/stolen` });
  assert.equal(targetHits, 0, 'the redirect was not followed');
  // Once the setting lists it (by name or by range), the delivery goes through.
  assert.equal((await postWebhook(`${targetUrl}/x`, '{}', {}, hostPolicy(['127.0.0.0/8']), 5000)).status, 200);
  const redirectorPort = (redirector.address() as AddressInfo).port;
  assert.equal((await postWebhook(`http://localhost:${redirectorPort}/x`, '{}', {}, hostPolicy(['localhost']), 5000)).status, 302);
  assert.equal(targetHits, 1);
});
