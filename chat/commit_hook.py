"""Where hooks installed before commit messages became ``repolens.commit`` point.

Their script runs ``python -P -m repolens.chat.commit_hook``; this keeps them working (and
never failing a commit) until ``repolens hook install`` rewrites them for
:mod:`repolens.commit.hook`.
"""

from repolens.commit.hook import main

if __name__ == "__main__":
    main()
