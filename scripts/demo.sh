#!/usr/bin/env bash
# The main job: start XCS on a fresh embedded archive, import a small generated DICOM session, register the
# real dcm2niix command on the local xnat/dcm2niix image, run it on every scan, and show the NIFTI resources
# it created. Exits 0 only if every scan got its NIFTI resource.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh

data="$here/xcs-data/demo"
work="$data-work"
rm -rf "$data" "$work"
mkdir -p "$data" "$work"
export XCS_USER=admin XCS_PASSWORD="demo-$RANDOM$RANDOM"
export XCS_ADMIN_USER="$XCS_USER" XCS_ADMIN_PASSWORD="$XCS_PASSWORD"
xcs() { "$here/bin/xcs" "$@"; }

echo "== 1. a small DICOM session (2 series), generated"
node --import tsx scripts/generate-dicom.ts "$work/dicom" --patients 1 --series 2 --slices 8 --size 32 --seed demo >/dev/null
xcs import-dicom DEMO "$work/dicom" --data "$data"

echo "== 2. XCS server on a free port (data: ${data#"$here"/})"
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# Not through the xcs() function: a backgrounded function is a subshell, and killing it would leave the server.
"$here/bin/xcs" serve --port "$port" --data "$data" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
export XCS_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS -u "$XCS_USER:$XCS_PASSWORD" "$XCS_URL/xapi/commands" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
echo "   listening on $XCS_URL"

echo "== 3. register the dcm2niix command and enable its wrapper"
command_file=examples/commands/dcm2niix.json
command_id=$(curl -fsS -u "$XCS_USER:$XCS_PASSWORD" -H 'Content-Type: application/json' --data-binary "@$command_file" "$XCS_URL/xapi/commands")
wrapper_id=$(curl -fsS -u "$XCS_USER:$XCS_PASSWORD" "$XCS_URL/xapi/commands/$command_id" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).xnat.find(w=>w.name==="dcm2niix-scan").id))')
curl -fsS -u "$XCS_USER:$XCS_PASSWORD" -X PUT "$XCS_URL/xapi/wrappers/$wrapper_id/enabled" >/dev/null
curl -fsS -u "$XCS_USER:$XCS_PASSWORD" -X PUT "$XCS_URL/xapi/projects/DEMO/wrappers/$wrapper_id/enabled" >/dev/null
echo "   command $command_id, wrapper dcm2niix-scan ($wrapper_id), enabled for the site and project DEMO"

echo "== 4. launch dcm2niix on every scan and wait"
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);$1})"; }
scan_uris=$(curl -fsS -u "$XCS_USER:$XCS_PASSWORD" "$XCS_URL/data/projects/DEMO/experiments?format=json" |
  json 'for (const e of j.ResultSet.Result) console.log(e.ID)' | while read -r session; do
    curl -fsS -u "$XCS_USER:$XCS_PASSWORD" "$XCS_URL/data/experiments/$session/scans?format=json" |
      json "for (const s of j.ResultSet.Result) console.log('/archive/experiments/$session/scans/' + s.ID)"
  done)
# shellcheck disable=SC2086
set +e
xcs launch dcm2niix-scan $scan_uris --wait
launched=$?
set -e

echo "== 5. the NIFTI resources created"
ok=0; missing=0
for uri in $scan_uris; do
  data_uri="/data${uri#/archive}"
  files=$(curl -fsS -u "$XCS_USER:$XCS_PASSWORD" "$XCS_URL$data_uri/resources/NIFTI/files?format=json" 2>/dev/null |
    json 'for (const f of j.ResultSet.Result) console.log("     " + f.Name + "  (" + f.Size + " bytes)")' || true)
  if echo "$files" | grep -q '\.nii'; then
    ok=$((ok + 1)); echo "   $data_uri/resources/NIFTI"; echo "$files"
  else
    missing=$((missing + 1)); echo "   $data_uri: no NIFTI resource" >&2
  fi
done
xcs containers --all
echo
echo "Browse them while the server runs (it stops when this script ends; restart it with"
echo "  bin/xcs serve --port $port --data ${data#"$here"/}):"
first=$(echo "$scan_uris" | head -n1)
echo "  curl -u $XCS_USER:$XCS_PASSWORD '$XCS_URL/data${first#/archive}/resources/NIFTI/files?format=json'"
echo "  curl -u $XCS_USER:$XCS_PASSWORD '$XCS_URL/xapi/containers'    # run records: history, outputs, logs"
echo "  XCS_URL=$XCS_URL XCS_USER=$XCS_USER XCS_PASSWORD=$XCS_PASSWORD bin/xcs logs 1"
echo "  web console: $XCS_URL/ui/ (sign in as $XCS_USER / $XCS_PASSWORD)"
echo "Files on disk: ${data#"$here"/}/archive/DEMO/arc001/*/SCANS/*/NIFTI/"
echo
if [ "$missing" -eq 0 ] && [ "$ok" -gt 0 ] && [ "$launched" -eq 0 ]; then
  echo "demo: OK — $ok scans, $ok NIFTI resources"
  exit 0
fi
echo "demo: FAILED — $missing of $((ok + missing)) scans without NIFTI (server log: ${work#"$here"/}/server.log)" >&2
exit 1
