"""Build the optional C accelerator; everything else is declared in pyproject.toml.

The extension is ``optional``: where no C compiler is available the install still
succeeds and certkit uses its pure-Python code path (the same results, slower JCEKS).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("certkit._speedups", ["certkit/_speedups.c"], optional=True)])
