"""`python -m aggregator` runs the `inqd` command."""

from aggregator.cli.main import main

raise SystemExit(main())
