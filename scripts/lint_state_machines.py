"""Lint each state machine as it would be deployed: substitutions applied, then statelint.

Neither `sam validate --lint` nor cfn-lint catches a `Next` naming a missing state in a
DefinitionUri file. statelint does, on the definition after CloudFormation's
DefinitionSubstitutions (resolved here with the local stack's names).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from medialens_local.template import ROOT, Resolver

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def rendered_definitions() -> dict[str, str]:
    """Each state machine's definition, by logical id, with its substitutions applied.

    Raises
    ------
    ValueError
        When a placeholder has no substitution, or a substitution no placeholder.
    """
    resolver = Resolver(stack_name="medialens", account_id="123456789012", region="eu-west-1")
    for logical_id in resolver.resources("AWS::IAM::Role"):
        resolver.attributes.setdefault((logical_id, "Arn"), resolver.physical_name(logical_id))
    rendered = {}
    for logical_id, machine in resolver.resources("AWS::Serverless::StateMachine").items():
        properties = machine["Properties"]
        text = (ROOT / properties["DefinitionUri"]).read_text()
        values = {
            name: _resolve(resolver, value)
            for name, value in properties.get("DefinitionSubstitutions", {}).items()
        }
        used = set(PLACEHOLDER.findall(text))
        if used - set(values) or set(values) - used:
            raise ValueError(
                f"{logical_id}: placeholders without a substitution {sorted(used - set(values))}, "
                f"substitutions without a placeholder {sorted(set(values) - used)}"
            )
        rendered[logical_id] = substitute(text, values)
    return rendered


def substitute(text: str, values: dict[str, str]) -> str:
    """Apply ``${Name}`` substitutions, as CloudFormation does to a DefinitionUri file."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def _resolve(resolver: Resolver, value: object) -> str:
    try:
        return resolver.resolve(value)
    except (KeyError, ValueError, TypeError):
        # An attribute of a resource the local stack never creates: a stand-in ARN.
        return "arn:aws:iam::123456789012:role/stand-in"


def main() -> int:
    definitions = rendered_definitions()
    if not definitions:
        print("no state machines in template.yaml")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for logical_id, text in definitions.items():
            path = Path(folder) / f"{logical_id}.json"
            path.write_text(text)
            result = subprocess.run(
                [sys.executable, "-m", "statelint", str(path)], capture_output=True, text=True
            )
            status = "ok" if result.returncode == 0 else "FAILED"
            print(f"statelint {logical_id}: {status}")
            if result.returncode != 0:
                print(result.stdout + result.stderr)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
