"""lm-eval hook for the copy task: the scores live in langadapt.eval.metrics (unit-tested there)."""

from langadapt.eval.metrics import copy_scores


def process_results(doc, results):
    return copy_scores(doc["text"], results[0])
