#!/usr/bin/python3.11
"""Stand-in for NrgXnat's batch-launch image (xnat/batch-launch:1.1): same arguments, same calls.

batch-launch.py (scans|sessions|subjects) HOST USER PASS WRAPPER_NAME PARENT_ID PROJECT
Finds the enabled wrapper by name in /xapi/commands/available, lists the children of PARENT_ID the
way the real script does (the scans and subjects listings, the subject's item document for sessions),
and bulk-launches the wrapper on each. Exits non-zero when a step fails or nothing was found.
"""
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

mode, host, user, password, wrapper_name, parent, project = sys.argv[1:8]
token = base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def call(method, path, params=None, body=None):
    url = host + path + ('?' + urllib.parse.urlencode(params) if params else '')
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={'Authorization': 'Basic ' + token, 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read().decode() or 'null')
    except urllib.error.HTTPError as e:
        print('ERROR: %s %s: %s %s' % (method, path, e.code, e.read().decode(errors='replace')))
        sys.exit(1)


plans = {
    'scans': ('xnat:imageScanData', '/data/experiments/%s/scans' % parent, '/experiments/%s/scans/{}' % parent),
    'sessions': ('xnat:imageSessionData', '/data/subjects/%s/experiments' % parent, '{}'),
    'subjects': ('xnat:subjectData', '/data/projects/%s/subjects' % parent, '{}'),
}
xsi_type, search_uri, launch_template = plans[mode]

available = call('GET', '/xapi/commands/available', {'project': project, 'xsiType': xsi_type})
ids = [w['wrapper-id'] for w in available if w.get('wrapper-name') == wrapper_name and w.get('enabled')]
if not ids:
    print('ERROR: Could not find %s as an enabled command on project %s.' % (wrapper_name, project))
    sys.exit(1)
wrapper_id = max(ids)
root = [w['root-element-name'] for w in available if w['wrapper-id'] == wrapper_id][0]

found = call('GET', search_uri, {'format': 'json'})
if mode == 'sessions':
    # $.items[0].children[?(@.field == "experiments/experiment")].items[*].data_fields.ID
    things = [it['data_fields']['ID'] for c in found['items'][0]['children']
              if c['field'] == 'experiments/experiment' for it in c['items']]
else:
    # $.ResultSet.Result[*].ID
    things = [r['ID'] for r in found['ResultSet']['Result']]
if not things:
    print('No %s found.' % mode)
    sys.exit(1)
print('Found %s: %s.' % (mode, things))

# Version 1.1 of the image: one POST, the targets as a JSON-encoded list under the root element.
report = call('POST', '/xapi/projects/%s/wrappers/%s/root/%s/bulklaunch' % (project, wrapper_id, root),
              body={root: json.dumps([launch_template.format(t) for t in things])})
for s in report.get('successes', []):
    print('%s - %s' % (s.get('params', {}).get(root), s.get('container-id')))
for f in report.get('failures', []):
    print('FAILED %s - "%s"' % (f.get('params', {}).get(root), f.get('message')))
sys.exit(1 if report.get('failures') else 0)
