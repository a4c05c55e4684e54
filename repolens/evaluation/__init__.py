"""``repolens eval``: completion quality on the user's own repository.

Tasks are made from the repository (:mod:`.tasks`), completed by the configured model under
several context modes (:mod:`.run`), scored (:mod:`.metrics`) and reported (:mod:`.report`).
"""

from .metrics import Difference, Score, Summary, difference, score, summarize
from .run import MODES, EvalResult, Evaluation, Report
from .tasks import DECIDING, KINDS, EvalTask, first_identifier, make_tasks

__all__ = [
    "DECIDING",
    "KINDS",
    "MODES",
    "Difference",
    "EvalResult",
    "EvalTask",
    "Evaluation",
    "Report",
    "Score",
    "Summary",
    "difference",
    "first_identifier",
    "make_tasks",
    "score",
    "summarize",
]
