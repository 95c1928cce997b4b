"""lm-eval hook for the response-language task: the check lives in langadapt.eval.metrics (unit-tested there)."""

from langadapt.eval.metrics import lang_scores


def process_results(doc, results):
    return lang_scores(doc, results[0])
