"""``python -m app`` is the ``chronicle`` command."""

from app.cli import main

main()
