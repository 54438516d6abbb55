"""``python -m mlsse`` runs the command line."""

from mlsse.cli import main

main()
