#!/usr/bin/env python3
"""Same as the `gwanje` console script."""

from gwanje.cli import main

if __name__ == "__main__":
    main()
