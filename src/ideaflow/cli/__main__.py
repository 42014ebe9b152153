"""`python -m ideaflow.cli`: the command line."""

from ideaflow.cli import main

main()
