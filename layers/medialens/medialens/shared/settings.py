"""Reading a function's settings from its environment: the parsers every feature shares.

``template.yaml`` gives each function the variables its settings classes read (each
feature's ``settings`` module); use cases receive the parsed, typed settings and never
read ``os.environ`` themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from medialens.shared.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def read_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Read ``true``/``false`` (or ``1/0``, ``yes/no``, ``on/off``); ``default`` when unset.

    Raises
    ------
    ConfigurationError
        When the value is none of those.
    """
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def read_number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    """Read a number within ``[low, high]``; ``default`` when unset.

    Raises
    ------
    ConfigurationError
        When the value is not a number or out of range.
    """
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def read_required(env: Mapping[str, str], name: str) -> str:
    """Read a value that must be set and not blank.

    Raises
    ------
    ConfigurationError
        When it is missing or blank.
    """
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


def read_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    """Read an S3 key prefix, ending in ``/`` whether or not it was given with one."""
    value = env.get(name, "").strip() or default
    return value if value.endswith("/") else value + "/"


class EnvironmentSettings:
    """A function's settings, read from its environment.

    Subclasses (frozen dataclasses) implement :meth:`parse` and list the variables they
    read: ``VARIABLES`` the template sets for every function using them, ``TUNABLES``
    read only when someone sets them (the defaults otherwise), ``LAMBDA_RUNTIME`` set by
    Lambda itself, never by the template.
    """

    __slots__ = ()
    VARIABLES: ClassVar[frozenset[str]] = frozenset()
    TUNABLES: ClassVar[frozenset[str]] = frozenset()
    LAMBDA_RUNTIME: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Parse the settings from environment variables.

        Parameters
        ----------
        env : Mapping[str, str], optional
            Variables to read; ``os.environ`` when omitted.

        Returns
        -------
        Self

        Raises
        ------
        ConfigurationError
            When a required variable is missing or a value is out of range.
        """
        return cls.parse(os.environ if env is None else env)

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> Self:
        """Parse the settings from ``env`` (see :meth:`from_env`)."""
        raise NotImplementedError
