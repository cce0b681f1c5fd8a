"""Sphinx configuration: Markdown pages (MyST), warnings are errors (``nox -s docs``)."""

project = "certkit"
author = "certkit developers"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "alabaster"
suppress_warnings = ["myst.xref_missing"]
