"""``python -m growth_sim``: the same as the `growth-sim` command."""

from .cli import main

main()
