"""lm-eval hook for the response-language task: the check lives in langadapt.evaluate (unit-tested there)."""

from langadapt.evaluate import lang_scores


def process_results(doc, results):
    return lang_scores(doc["lang"], results[0])
