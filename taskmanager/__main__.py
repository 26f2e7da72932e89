"""``python -m taskmanager``: the ``taskmanager`` command."""

from ._cli import main

if __name__ == "__main__":
    main(prog_name="taskmanager")
