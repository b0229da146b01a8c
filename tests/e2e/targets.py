"""Where the user journeys run: a deployed stack, or the offline one (``offline.py``).

A journey sees a :class:`Target` only: the stack's resource names, boto3 clients for it,
and :meth:`Target.settle`, which lets the stack work until a condition holds. The
journeys are the same code for both kinds of target.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from medialens_local.template import load_template

LOCALE_ID = "en_US"


@dataclass(frozen=True)
class StackResources:
    """The names and settings of a stack that the journeys use.

    Attributes
    ----------
    bucket : str
        The media bucket (output ``MediaBucketName``).
    catalog_table : str
        The catalog table (output ``CatalogTableName``).
    uploads_prefix : str
        Where drops are analysed (parameter ``UploadsPrefix``), ending in ``/``.
    model_data_key : str
        The Batch Transform workflow's default model archive in the bucket (parameter
        ``ModelDataKey``).
    bot_id, bot_alias_id : str
        The Lex V2 bot and its live alias (outputs ``BotId``, ``BotAliasId``).
    batch_transform_state_machine_arn, label_mining_state_machine_arn : str
        The ML workflows (outputs of the same names).
    """

    bucket: str
    catalog_table: str
    uploads_prefix: str
    model_data_key: str
    bot_id: str
    bot_alias_id: str
    batch_transform_state_machine_arn: str
    label_mining_state_machine_arn: str
    locale_id: str = LOCALE_ID


@dataclass(frozen=True)
class Timeouts:
    """How long a journey waits for the stack, in seconds."""

    image_s: float = 180
    video_s: float = 1800
    batch_transform_s: float = 3600
    label_mining_s: float = 5400


class Target(ABC):
    """A stack the journeys run against."""

    resources: StackResources
    timeouts: Timeouts

    @property
    @abstractmethod
    def name(self) -> str:
        """Say which stack this is, for messages."""

    @abstractmethod
    def client(self, service: str) -> Any:
        """Return a boto3 client that reaches this stack's ``service``."""

    @abstractmethod
    def settle(self, until: Callable[[], bool], timeout_s: float) -> bool:
        """Let the stack work until ``until()`` holds or ``timeout_s`` passes.

        Returns
        -------
        bool
            Whether ``until()`` held; the journey asserts on the state itself.
        """

    @abstractmethod
    def prepare_label_mining(self, request: pytest.FixtureRequest) -> None:
        """Make the EMR label-mining workflow runnable, or skip the test that needs it."""


class DeployedTarget(Target):
    """A stack deployed with ``sam deploy``, reached with the default boto3 session.

    Credentials and Region come from the environment (profile, variables, SSO), as
    for the AWS CLI. Waiting is polling: :meth:`settle` checks every ``poll_s``.
    """

    def __init__(
        self,
        stack_name: str,
        resources: StackResources,
        *,
        session: boto3.session.Session,
        with_emr: bool = False,
        timeouts: Timeouts | None = None,
        poll_s: float = 5.0,
    ) -> None:
        self.stack_name = stack_name
        self.resources = resources
        self.timeouts = timeouts or Timeouts()
        self.with_emr = with_emr
        self.poll_s = poll_s
        self._session = session
        self._clients: dict[str, Any] = {}

    @classmethod
    def from_stack(
        cls,
        stack_name: str,
        *,
        with_emr: bool = False,
        session: boto3.session.Session | None = None,
    ) -> DeployedTarget:
        """Read the stack's outputs and parameters from CloudFormation.

        Raises
        ------
        KeyError
            When the stack lacks an output the journeys need (an older template).
        """
        session = session or boto3.session.Session()
        [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        given = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        defaults = load_template()["Parameters"]

        def parameter(name: str) -> str:
            return str(given.get(name) or defaults[name]["Default"])

        resources = StackResources(
            bucket=outputs["MediaBucketName"],
            catalog_table=outputs["CatalogTableName"],
            uploads_prefix=parameter("UploadsPrefix"),
            model_data_key=parameter("ModelDataKey"),
            bot_id=outputs["BotId"],
            bot_alias_id=outputs["BotAliasId"],
            batch_transform_state_machine_arn=outputs["BatchTransformStateMachineArn"],
            label_mining_state_machine_arn=outputs["LabelMiningStateMachineArn"],
        )
        return cls(stack_name, resources, session=session, with_emr=with_emr)

    @property
    def name(self) -> str:
        """Say which stack this is: its name and Region."""
        return f"stack {self.stack_name} ({self._session.region_name})"

    def client(self, service: str) -> Any:
        """Return a client of the default session, made once per service."""
        if service not in self._clients:
            self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    def settle(self, until: Callable[[], bool], timeout_s: float) -> bool:
        """Check ``until()`` every ``poll_s`` seconds until it holds or time is up."""
        deadline = time.monotonic() + timeout_s
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.poll_s, left))
        return True

    def prepare_label_mining(self, request: pytest.FixtureRequest) -> None:
        """Skip unless ``--with-emr``: the workflow starts an EMR cluster, which is billed."""
        if not self.with_emr:
            pytest.skip("the EMR workflow costs money: add --with-emr to run it")
