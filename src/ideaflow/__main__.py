"""`python -m ideaflow`: the command line."""

from ideaflow.cli import main

main()
