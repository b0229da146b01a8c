"""Settings of the workflows' task functions, parsed from the function's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.settings import read_required


@dataclass(frozen=True, slots=True)
class SuggestionSettings:
    """Where the published label suggestions go.

    Attributes
    ----------
    catalog_table : str
        The catalog table the chatbot reads the suggestions from.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset({"CATALOG_TABLE"})
    """What template.yaml sets for the function that publishes suggestions."""
    TUNABLES: ClassVar[frozenset[str]] = frozenset()

    catalog_table: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SuggestionSettings:
        """Parse the settings from environment variables (``os.environ`` when omitted).

        Raises
        ------
        ConfigurationError
            When ``CATALOG_TABLE`` is not set.
        """
        env = os.environ if env is None else env
        return cls(catalog_table=read_required(env, "CATALOG_TABLE"))


@dataclass(frozen=True, slots=True)
class ArtifactSettings:
    """What the deploy-time artifact upload needs: the Region it runs in.

    ``AWS_REGION`` is one of the variables Lambda itself sets in every function
    ("Defined runtime environment variables",
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
    the template sets nothing for this function.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset()
    TUNABLES: ClassVar[frozenset[str]] = frozenset()
    LAMBDA_RUNTIME: ClassVar[frozenset[str]] = frozenset({"AWS_REGION"})
    """Set by Lambda, never by the template."""

    region: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ArtifactSettings:
        """Parse the settings from environment variables (``os.environ`` when omitted).

        Raises
        ------
        ConfigurationError
            When ``AWS_REGION`` is not set (never, inside Lambda).
        """
        env = os.environ if env is None else env
        return cls(region=read_required(env, "AWS_REGION"))
