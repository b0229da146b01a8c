"""Write layers/medialens/requirements.txt from pyproject.toml's runtime dependencies.

Usage: python scripts/layer_requirements.py [--check]
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "layers" / "medialens" / "requirements.txt"
HEADER = "# Generated from pyproject.toml [project.dependencies] by `make layer-requirements`.\n"


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return HEADER + "".join(f"{requirement}\n" for requirement in project["dependencies"])


def main(argv: list[str]) -> int:
    expected = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != expected:
            print(f"{TARGET} is stale: run `make layer-requirements`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
