"""``python -m growth_sim``: the same as the `growth-sim` command."""

from growth_sim.cli import main

main()
