"""Settings of the workflows' task functions, parsed from the function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.settings import EnvironmentSettings, read_required


@dataclass(frozen=True, slots=True)
class SuggestionSettings(EnvironmentSettings):
    """Where the published label suggestions go.

    Attributes
    ----------
    catalog_table : str
        The catalog table the chatbot reads the suggestions from.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset({"CATALOG_TABLE"})
    """What template.yaml sets for the function that publishes suggestions."""

    catalog_table: str

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> SuggestionSettings:
        """Read the variables from ``env``."""
        return cls(catalog_table=read_required(env, "CATALOG_TABLE"))


@dataclass(frozen=True, slots=True)
class ArtifactSettings(EnvironmentSettings):
    """What the deploy-time artifact upload needs: the Region it runs in.

    ``AWS_REGION`` is one of the variables Lambda itself sets in every function
    ("Defined runtime environment variables",
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
    the template sets nothing for this function.
    """

    LAMBDA_RUNTIME: ClassVar[frozenset[str]] = frozenset({"AWS_REGION"})

    region: str

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> ArtifactSettings:
        """Read the variables from ``env``."""
        return cls(region=read_required(env, "AWS_REGION"))
