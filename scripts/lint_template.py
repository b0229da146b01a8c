"""cfn-lint template.yaml for every Region its SupportedRegion rule accepts.

cfn-lint checks only the Region it is given (default: AWS_REGION, AWS_DEFAULT_REGION or
us-east-1), and a resource type missing in another Region passes unnoticed; the list
comes from the template itself, so the rule and the lint never disagree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from medialens_local.template import TEMPLATE, supported_regions


def command() -> list[str]:
    """The cfn-lint command line, next to this interpreter's (the virtualenv's) cfn-lint."""
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    executable = str(cfn_lint) if cfn_lint.exists() else shutil.which("cfn-lint") or "cfn-lint"
    return [executable, "--regions", *supported_regions(), "--", str(TEMPLATE)]


def main() -> int:
    print(f"cfn-lint in {len(supported_regions())} Regions: {' '.join(supported_regions())}")
    return subprocess.call(command())


if __name__ == "__main__":
    sys.exit(main())
