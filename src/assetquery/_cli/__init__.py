"""The ``assetquery`` command: a thin layer over the library, one module per command group."""

from ._app import app, main

__all__ = ["app", "main"]
