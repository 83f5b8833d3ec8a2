"""Drives a real XCS server with Debian's pyxnat: create, upload, list, attributes, download.

Usage: compat.py URL USER PASSWORD WORKDIR. Prints one "OK <step>" line per check and exits non-zero
on the first failure, so the calling test can tell which step broke.
"""
import hashlib
import os
import sys
import zipfile

from pyxnat import Interface

url, user, password, work = sys.argv[1:5]


def md5(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def ok(step):
    print('OK', step, flush=True)


def check(cond, step):
    if not cond:
        print('FAIL', step, flush=True)
        sys.exit(1)
    ok(step)


x = Interface(server=url, user=user, password=password)

project = x.select.project('PYX')
project.create()
check(project.exists(), 'project.create')

subject = project.subject('subj01')
subject.create()
check(subject.exists() and subject.id().startswith('XNAT_S'), 'subject.create')

session = subject.experiment('sess01')
session.create(experiments='xnat:mrSessionData')
check(session.exists() and session.id().startswith('XNAT_E'), 'session.create')
check(session.datatype() == 'xnat:mrSessionData', 'session.datatype')

# repr(project) runs /data/search/elements and POST /data/search (an xdat:bundle) under the hood.
text = repr(project)
check(text.startswith('<Project Object> PYX') and '(private)' in text and '1 MR experiment ' in text,
      'project.repr search %s' % text)
check(any(r.get('id') == 'PYX' for r in x.select('xnat:projectData').all().data), 'search.projects.all')
project.set_accessibility('protected')
acc = project.accessibility()
check((acc.decode() if isinstance(acc, bytes) else acc) == 'protected' and '(protected)' in repr(project),
      'project.accessibility')
project.set_accessibility('private')

scan = session.scan('1')
scan.create(scans='xnat:mrScanData')
check(scan.exists(), 'scan.create')

resource = scan.resource('DICOM')
resource.create()
check(resource.exists(), 'resource.create')

# Files: one by one (raw body, inbody=true) and several at once (zip with extract=true).
src = os.path.join(work, 'src')
os.makedirs(src)
paths = []
for i in range(3):
    p = os.path.join(src, 'img%d.dcm' % i)
    with open(p, 'wb') as f:
        f.write(os.urandom(1000 + i * 4096))
    paths.append(p)
resource.file('img0.dcm').put(paths[0], format='DICOM', content='RAW', tags='t1')
check(resource.file('img0.dcm').exists(), 'file.put')
try:
    resource.file('img0.dcm').put(paths[0])
    check(False, 'file.put.duplicate-refused')
except Exception:
    ok('file.put.duplicate-refused')
resource.put(paths[1:])
names = sorted(resource.files().get())
check(names == ['img0.dcm', 'img1.dcm', 'img2.dcm'], 'files.list %s' % names)
check([r.id() for r in session.scans()] == ['1'], 'scans.list')
check(list(subject.experiments().get()) == [session.id()], 'experiments.list')
check('DICOM' in resource.label() or resource.label() == 'DICOM', 'resource.label')

# Attributes.
session.attrs.set('xnat:mrSessionData/date', '2024-01-31')
check(session.attrs.get('xnat:mrSessionData/date') == '2024-01-31', 'session.attrs')
scan.attrs.mset({'xnat:mrScanData/type': 'T1w', 'xnat:mrScanData/series_description': 'MPRAGE sag'})
check(scan.attrs.get('xnat:mrScanData/type') == 'T1w', 'scan.attrs.type')
check(scan.attrs.get('xnat:mrScanData/series_description') == 'MPRAGE sag', 'scan.attrs.series_description')

# Downloads: one file, then the whole resource as a zip, checksums compared with the sources.
dl = os.path.join(work, 'dl')
os.makedirs(dl)
got = resource.file('img0.dcm').get(os.path.join(dl, 'img0.dcm'))
check(md5(got) == md5(paths[0]), 'file.get md5')
whole = os.path.join(work, 'whole')
os.makedirs(whole)
resource.get(whole, extract=True)
for p in paths:
    name = os.path.basename(p)
    found = [os.path.join(d, name) for d, _, fs in os.walk(whole) if name in fs]
    check(found and md5(found[0]) == md5(p), 'resource.get md5 %s' % name)

# Scans.download(): every scan's files in one zip (GET …/scans/ALL/files?format=zip), checksums compared.
scan2 = session.scan('2')
scan2.create(scans='xnat:mrScanData')
extra = os.path.join(src, 'scan2.nii')
with open(extra, 'wb') as f:
    f.write(os.urandom(5000))
scan2.resource('NIFTI').file('scan2.nii').put(extra)
allscans = os.path.join(work, 'allscans')
os.makedirs(allscans)
got = session.scans().download(allscans, extract=True)
by_name = {os.path.basename(g): g for g in got if os.path.isfile(g)}
check(sorted(by_name) == ['img0.dcm', 'img1.dcm', 'img2.dcm', 'scan2.nii']
      and all(md5(by_name[os.path.basename(p)]) == md5(p) for p in paths + [extra])
      and all('/files/' in g for g in got if os.path.isfile(g)), 'scans.download md5 %s' % sorted(by_name))

# Item documents (GET …?format=json), walked the way scripts walk them (NrgXnat's batch-launch JSONPaths).
def items_doc(uri):
    r = x.get(uri, params={'format': 'json'})
    return r.json()


def children(doc, field):
    return [it for c in doc['items'][0]['children'] if c['field'] == field for it in c['items']]


sdoc = items_doc('/data/subjects/%s' % subject.id())
check([e['data_fields']['ID'] for e in children(sdoc, 'experiments/experiment')] == [session.id()]
      and sdoc['items'][0]['meta']['xsi:type'] == 'xnat:subjectData', 'item.subject experiments/experiment')
walked = items_doc('/data/subjects/%s/experiments' % subject.id())
check([e['data_fields']['ID'] for e in children(walked, 'experiments/experiment')] == [session.id()]
      and [r['ID'] for r in walked['ResultSet']['Result']] == [session.id()], 'item.subject-experiments batch-launch')
edoc = items_doc('/data/experiments/%s' % session.id())
check(sorted(s['data_fields']['ID'] for s in children(edoc, 'scans/scan')) == ['1', '2'], 'item.experiment scans/scan')
scan_doc = items_doc('/data/experiments/%s/scans/2' % session.id())
check([r['data_fields']['label'] for r in children(scan_doc, 'file')] == ['NIFTI'], 'item.scan file')
pdoc = items_doc('/data/projects/PYX')
check(pdoc['items'][0]['data_fields']['ID'] == 'PYX' and children(pdoc, 'resources/resource') == [], 'item.project')
scan2.delete()

# Back-door checks through the REST layer pyxnat uses.
meta = x.select.project('PYX').subject('subj01').experiment('sess01').scan('1').resource('DICOM').file('img0.dcm')
check(meta.format() == 'DICOM' and meta.content() == 'RAW', 'file.meta')

scan.resource('DICOM').file('img2.dcm').delete()
check(sorted(resource.files().get()) == ['img0.dcm', 'img1.dcm'], 'file.delete')
session.delete()
check(not session.exists(), 'session.delete')
print('ALL DONE', flush=True)
