"""`make forget PERSON=<id>`: erase everything about a person, offline or in a deployed stack.

Offline (the default), the bundled samples (or ``--folder``) are analysed on the local
stack first; the person's reference photos, faces, search terms and result mentions are
then erased by the template's ``ForgetPersonFunction``, and the searches before and after,
the report and the audit record are shown. With ``--stack NAME`` the deployed function
is invoked instead (AWS credentials needed); nothing else runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = "ForgetPersonFunctionName"


def forget_deployed(stack_name: str, person_id: str) -> dict[str, Any]:
    """Invoke the deployed stack's erasure function and answer its report."""
    import boto3

    [stack] = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if OUTPUT not in outputs:
        raise SystemExit(f"stack {stack_name} has no output {OUTPUT}: deploy this version first")
    answer = boto3.client("lambda").invoke(
        FunctionName=outputs[OUTPUT], Payload=json.dumps({"person_id": person_id}).encode()
    )
    report: dict[str, Any] = json.loads(answer["Payload"].read())
    return report


def forget_offline(folder: Path, person_id: str) -> dict[str, Any]:
    """Analyse ``folder`` on the local stack, erase ``person_id``, and show what changed."""
    from medialens_local import stack
    from rich.console import Console
    from rich.table import Table

    console = Console()
    with (
        stack.progress_bar(console, transient=True) as progress,
        stack.analysed(folder, progress) as offline,
    ):
        before = stack.media_of_person(offline.aws, person_id)
        delivery = offline.router.invoke_sync("ForgetPersonFunction", {"person_id": person_id})
        offline.router.drain()  # S3 announces the reference photos' deletion; nothing is left
        after = stack.media_of_person(offline.aws, person_id)
        audit = stack.erasure_audit(offline.aws)
    if delivery.error:
        raise SystemExit(f"the erasure failed: {delivery.error}")
    table = Table(title=f"Media tagged with {person_id}")
    table.add_column("before")
    table.add_column("after")
    for n in range(max(len(before), len(after), 1)):
        table.add_row(before[n] if n < len(before) else "", after[n] if n < len(after) else "")
    console.print(table)
    console.print_json(data=delivery.response)
    console.print(f"audit records: {len(audit)} (the newest: {audit[-1] if audit else None})")
    response: dict[str, Any] = delivery.response
    return response


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make forget", description=__doc__)
    parser.add_argument("person_id", help="the person id (the folder name under faces/)")
    parser.add_argument("--stack", help="a deployed stack's name (default: offline)")
    parser.add_argument("--folder", type=Path, default=ROOT / "samples")
    args = parser.parse_args(argv)
    if args.stack:
        report = forget_deployed(args.stack, args.person_id)
        print(json.dumps(report, indent=2))
    else:
        report = forget_offline(args.folder, args.person_id)
    return 0 if report.get("erased") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
