"""The numbers written in a generated paper, and the numbers of a results JSON, for the tests that
check that every figure in the paper comes from the results."""

from __future__ import annotations

import re


def numbers(tex: str) -> list[str]:
    """Numbers written in the paper's body (bibliography, labels, refs, citations and math
    sub/superscripts excluded)."""
    body = tex.split(r"\begin{document}", 1)[1].split(r"\bibliographystyle", 1)[0]
    body = re.sub(r"\\(cite|ref|label|includegraphics|begin|end)(\[[^\]]*\])?\{[^}]*\}", "", body)
    body = re.sub(r"[_^]\{[^}]*\}|[_^]\w", "", body)
    return re.findall(r"(?<![\w.])\d+(?:\.\d+)?", body)


def json_values(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in json_values(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in json_values(x)]
    return []


def unmatched(tex: str, results) -> tuple[list[str], list[str]]:
    """(every number written in the paper, those that are not a value of ``results`` as written:
    the same decimals, or a fraction written as a percentage, either without its sign)."""
    values = json_values(results)
    written = numbers(tex)
    missing = []
    for token in written:
        decimals = len(token.split(".")[1]) if "." in token else 0
        # A signed difference is written with its sign apart ($-2.1$): the digits are its magnitude.
        if not any(f"{abs(v):.{decimals}f}" == token or f"{abs(100 * v):.{decimals}f}" == token for v in values):
            missing.append(token)
    return written, missing
