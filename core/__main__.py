"""`python -m core <command> [options]`: every command of the project (core.commands lists them)."""

import importlib
import sys

from core.commands import COMMANDS


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {entry.summary}" for name, entry in COMMANDS.items()]
    return (
        "usage: python -m core <command> [options]\n\ncommands:\n"
        + "\n".join(lines)
        + ("\n\n`python -m core <command> --help` gives a command's options.")
    )


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return
    name, *rest = argv
    if name not in COMMANDS:
        sys.exit(f"error: no command {name!r}\n\n{usage()}")
    from core import cli

    sys.argv = [f"python -m core {name}", *rest]  # argparse reads the options and shows this usage
    cli.run(importlib.import_module(COMMANDS[name].module).main)


if __name__ == "__main__":
    main(sys.argv[1:])
