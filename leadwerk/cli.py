"""The ``leadwerk`` console script: Leadwerk's own commands plus every Django command.

leadwerk run      migrate, load demo data once, serve on http://127.0.0.1:8000 with a worker
leadwerk demo     load the demo data set
leadwerk worker   run background tasks
leadwerk import   import a CSV list of leads
leadwerk <django command> ...
"""

from __future__ import annotations

import os
import sys

ALIASES = {"import": "import_leads", "worker": "db_worker"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadwerk.settings")
    if len(argv) > 1 and argv[1] in ALIASES:
        argv[1] = ALIASES[argv[1]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
