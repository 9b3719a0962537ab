"""`python -m aggregator` runs the `inqd` command."""

from aggregator.cli import main

raise SystemExit(main())
