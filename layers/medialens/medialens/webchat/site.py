"""Publish the web chat's page: its files and its ``config.json``, nothing else.

The page (``web/`` in the repository) is the same everywhere; ``config.json`` tells it
which bot, user pool and identity pool to use. Files the page no longer has are
removed, so a file dropped from ``web/`` stops being served after the next deploy.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CONFIG_KEY = "config.json"
CACHE_CONTROL = "max-age=60"
"""How long CloudFront and browsers keep a file: a deploy shows within a minute, without
an invalidation (which would need a CloudFront permission of its own)."""

PAGE_FILES = ("index.html", "chat.js", "chat.css", "favicon.svg", "vendor/aws4fetch.esm.js")
"""The files the page loads, relative to its folder."""

REQUIRED_CONFIG = ("region", "botId", "botAliasId", "localeId", "lexEndpoint", "cognito")
REQUIRED_COGNITO = ("domain", "clientId", "userPoolId", "identityPoolId", "identityEndpoint")


class MalformedSiteConfigError(ValueError):
    """The custom resource's ``Config`` lacks something the page needs."""


@dataclass(frozen=True, slots=True)
class PageFile:
    """One file to serve: its key, bytes and content type."""

    key: str
    body: bytes
    content_type: str


class SiteStore(Protocol):
    """The page's bucket."""

    def put(self, file: PageFile, *, cache_control: str) -> None:
        """Write one file."""

    def keys(self) -> list[str]:
        """List every key in the bucket."""

    def delete(self, keys: Iterable[str]) -> None:
        """Delete these keys."""


def page_files(folder: Path) -> list[PageFile]:
    """Read the page's files from ``folder``.

    Parameters
    ----------
    folder : Path

    Returns
    -------
    list[PageFile]
    """
    return [PageFile(name, (folder / name).read_bytes(), content_type(name)) for name in PAGE_FILES]


def content_type(name: str) -> str:
    """Tell the content type a page file is served with (JavaScript modules need theirs).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    if name.endswith(".js"):
        return "text/javascript"
    return mimetypes.guess_type(name)[0] or "text/plain"


def config_file(config: Mapping[str, Any]) -> PageFile:
    """Check the page's configuration and write it as ``config.json``.

    Parameters
    ----------
    config : Mapping[str, Any]
        The custom resource's ``Config`` property.

    Returns
    -------
    PageFile

    Raises
    ------
    MalformedSiteConfigError
        When a key the page reads is missing or empty.
    """
    missing = [key for key in REQUIRED_CONFIG if not config.get(key)]
    cognito = config.get("cognito")
    if isinstance(cognito, Mapping):
        missing += [f"cognito.{key}" for key in REQUIRED_COGNITO if not cognito.get(key)]
    if missing:
        raise MalformedSiteConfigError(f"Config lacks {', '.join(missing)}")
    body = json.dumps({**config, "standIn": None}, indent=2, sort_keys=True).encode()
    return PageFile(CONFIG_KEY, body, "application/json")


def publish_site(files: list[PageFile], config: PageFile, store: SiteStore) -> list[str]:
    """Write the page and its configuration; remove what the page no longer has.

    Parameters
    ----------
    files : list[PageFile]
    config : PageFile
    store : SiteStore

    Returns
    -------
    list[str]
        The keys written.
    """
    written = []
    for file in [*files, config]:
        store.put(file, cache_control=CACHE_CONTROL)
        written.append(file.key)
    stale = sorted(set(store.keys()) - set(written))
    if stale:
        store.delete(stale)
    return written


def remove_site(store: SiteStore) -> None:
    """Empty the page's bucket, so that CloudFormation can delete it with the stack.

    Parameters
    ----------
    store : SiteStore
    """
    store.delete(store.keys())
