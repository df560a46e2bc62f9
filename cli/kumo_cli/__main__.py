"""``python -m kumo_cli``: the ``kumo`` command."""

from kumo_cli.main import main

if __name__ == "__main__":
    main()
