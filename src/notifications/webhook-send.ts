/**
 * One webhook delivery over HTTP(S), through the host guard (webhook-guard.ts): an address literal is checked
 * before connecting, a name on the addresses the connection is made to. Redirects are never followed (a
 * receiver could otherwise bounce the POST to an internal address): a 3xx is a failed attempt whose error
 * names where it pointed.
 */
import http from 'node:http';
import https from 'node:https';
import { deliveryCheck, ForbiddenAddressError, guardedLookup, type WebhookHostPolicy } from './webhook-guard.ts';

export interface PostOutcome {
  status: number;
  /** The `Location` of a redirect answer, when there is one. */
  location: string | null;
}

export function postWebhook(rawUrl: string, body: string, headers: Record<string, string>, policy: WebhookHostPolicy,
  timeoutMs: number): Promise<PostOutcome> {
  const url = new URL(rawUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new ForbiddenAddressError(`only http and https are allowed, not ${url.protocol}`));
  }
  const check = deliveryCheck(url, policy);
  if (check.refusal) return Promise.reject(new ForbiddenAddressError(check.refusal));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST', agent: false, signal: AbortSignal.timeout(timeoutMs),
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      ...(check.trusted ? {} : { lookup: guardedLookup(policy) }),
    }, (response) => {
      response.resume(); // the answer's body is not read: only its status counts
      const location = response.headers.location ?? null;
      resolve({ status: response.statusCode ?? 0, location });
    });
    request.on('error', reject);
    request.end(body);
  });
}
