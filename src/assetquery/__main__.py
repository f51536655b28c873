"""``python -m assetquery``: the same as the ``assetquery`` command."""

from ._cli import main

main()
