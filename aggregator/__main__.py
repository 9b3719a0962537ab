"""`python -m aggregator` runs the `inqd` command."""

from aggregator.cli.entry import main

raise SystemExit(main())
