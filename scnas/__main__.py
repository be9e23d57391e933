"""`python -m scnas`: the same as the `scnas` command."""

from scnas.cli import main

raise SystemExit(main())
