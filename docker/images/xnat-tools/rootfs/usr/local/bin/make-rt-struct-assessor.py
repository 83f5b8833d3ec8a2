#!/usr/bin/python3.11
"""Stand-in for NrgXnat's rt-struct-assessor tool: reads the RT-STRUCT file and writes an
`<icr:RoiCollection>` assessor document that carries its own ID, as the real tool does.

make-rt-struct-assessor.py SUBJ_ID SESS_ID SESS_LABEL PROJECT RT_FILE OUT_XML
"""
import hashlib
import sys

subject, session, session_label, project, rt_file, out = sys.argv[1:7]
with open(rt_file, 'rb') as f:
    digest = hashlib.sha1(f.read()).hexdigest()[:10]
ident = 'RoiCollection_%s' % digest
with open(out, 'w') as f:
    f.write('''<?xml version="1.0" encoding="UTF-8"?>
<icr:RoiCollection xmlns:icr="http://www.icr.ac.uk/icr" xmlns:xnat="http://nrg.wustl.edu/xnat"
  ID="%s" label="%s_RTSTRUCT_%s" project="%s">
  <xnat:imageSession_ID>%s</xnat:imageSession_ID>
  <icr:subjectID>%s</icr:subjectID>
  <icr:collectionType>RTSTRUCT</icr:collectionType>
</icr:RoiCollection>
''' % (ident, session_label, digest, project, session, subject))
print('wrote', out, ident)
