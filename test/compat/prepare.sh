#!/usr/bin/env bash
# prepare.sh DIR...: writes apb.yml into the Dockerfile's spec label, the
# way `apb prepare` did (base64 in 76-character lines joined by "\"), so
# the Dockerfiles stay in the original bundles' form. Run it after editing
# an apb.yml; test/images checks that label and apb.yml agree.
set -euo pipefail
for dir in "$@"; do
  df=$dir/Dockerfile
  [ -f "$dir/apb.yml" ] && [ -f "$df" ] || { echo "usage: $0 DIR... (each with apb.yml and Dockerfile)" >&2; exit 2; }
  python3 - "$dir/apb.yml" "$df" <<'PY'
import base64, re, sys
spec, df = sys.argv[1], sys.argv[2]
b64 = base64.b64encode(open(spec, "rb").read()).decode()
lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
label = 'LABEL "com.redhat.apb.spec"=\\\n"' + "\\\n".join(lines) + '"\n'
text = open(df).read()
new, n = re.subn(r'LABEL "com\.redhat\.apb\.spec"=\\\n"[^"]*"\n', lambda m: label, text)
if n != 1:
    sys.exit("%s: want exactly one LABEL \"com.redhat.apb.spec\"=\\ block, found %d" % (df, n))
open(df, "w").write(new)
PY
done
