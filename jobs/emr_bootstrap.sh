#!/bin/bash
# EMR bootstrap action: install the Python packages the Spark job imports.
#
#   emr_bootstrap.sh s3://<bucket>/jobs/requirements-emr-<hash>.txt
#
# Runs on every node before Spark starts (EMR Management Guide, "Create bootstrap
# actions to install additional software"). The packages go into /usr/bin/python3, the
# interpreter the cluster's spark-env sets as PYSPARK_PYTHON. pip needs a route to PyPI
# from the cluster's subnet (NAT); without one this fails and so does the cluster, with
# this message in its bootstrap log under emr-logs/.
set -euo pipefail

requirements_uri="${1:?usage: emr_bootstrap.sh s3://bucket/key-of-requirements.txt}"
requirements="$(mktemp)"
aws s3 cp --only-show-errors "$requirements_uri" "$requirements"
if ! sudo /usr/bin/python3 -m pip install --quiet --no-input -r "$requirements"; then
  echo "medialens bootstrap: pip could not install $requirements_uri;" \
    "the subnet needs a route to PyPI (a NAT gateway): see docs/deploying.md, EMR" >&2
  exit 1
fi
/usr/bin/python3 - "$requirements" <<'PY'
import importlib.metadata as metadata
import sys

for line in open(sys.argv[1]):
    requirement = line.split("#", 1)[0].strip()
    if requirement:
        name, version = requirement.split("==")
        found = metadata.version(name)
        if found != version:
            sys.exit(f"medialens bootstrap: {name} {found} installed, {version} required")
PY
