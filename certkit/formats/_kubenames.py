"""Kubernetes object names, apart from the codec so that naming imports no parser."""

from __future__ import annotations

import re

__all__ = ["secret_name"]

_MAX_NAME = 253


def secret_name(text: str) -> str:
    """``text`` made a valid Secret name (an RFC 1123 subdomain: lower case, ≤ 253 characters).

    A wildcard becomes ``wildcard``, anything else outside ``a-z0-9.-`` a hyphen, and each
    dot-separated label starts and ends with a letter or digit; ``tls`` if nothing is left.
    """
    lowered = text.strip().lower().replace("*", "wildcard")
    labels = []
    for label in lowered.split("."):
        cleaned = re.sub(r"[^a-z0-9-]+", "-", label).strip("-")
        if cleaned:
            labels.append(re.sub(r"-{2,}", "-", cleaned))
    name = ".".join(labels)[:_MAX_NAME].rstrip("-.")
    return name or "tls"
