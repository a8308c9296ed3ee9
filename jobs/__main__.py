"""``python -m jobs`` runs the ``forecast`` command (same as the console script)."""

from jobs.cli import main

main()
