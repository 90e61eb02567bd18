"""``backproof grade``: a whole class against one key, with a summary of what was missed."""

from __future__ import annotations

import argparse
import functools
import math
import sys
from pathlib import Path

from ..errors import BackproofError, quote
from ..io import is_special_file, is_stdout, write_group

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof grade key.yaml submissions/
  backproof grade key.yaml submissions/ -o grades.csv
  backproof grade key.yaml submissions/ -o grades.json --jobs 2 --timeout 20
  backproof grade examples/homework/class/key.yaml examples/homework/class/submissions -o output/grades.md
  backproof grade key.yaml submissions/ --feedback feedback/      # a page per student, summary, gradebook.csv

Each submission file holds `student` and `answers` (see docs/homework.md).
exit status: 0 every submission all correct, 1 otherwise, 2 the key is invalid.
"""


def register(sub) -> None:
    p = sub.add_parser("grade", help="grade a folder of submissions against a key",
                       description="Grade every submission (.yaml, .yml, .json, .toml) in a folder against "
                                   "a key, in parallel worker processes with a per-submission time limit, "
                                   "and summarise what the class missed most.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("key", metavar="KEY", help="the key: a problem, optionally with its answers, e.g. key.yaml")
    p.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="folder of submission files, e.g. submissions/")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write every row to FILE; the format follows the extension: .csv, .json, .md or "
                        ".html (e.g. -o grades.csv)")
    p.add_argument("--jobs", "-j", type=int, default=2, metavar="N",
                   help="worker processes (default 2, at most the number of CPUs), e.g. --jobs 1")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="seconds one submission may take before it becomes an error row (default 30), "
                        "e.g. --timeout 10")
    p.add_argument("--carried-credit", type=float, default=None, metavar="X",
                   help="share of a question's points for an answer wrong only because an earlier one was "
                        "(default: the key's carried_credit, else 1); replaces the key's settings, "
                        "e.g. --carried-credit 0.5")
    p.add_argument("--feedback", metavar="OUTDIR", default=None,
                   help="also write OUTDIR/students/<name>.html (a feedback page per student), OUTDIR/summary.html "
                        "(with a per-question table), OUTDIR/mistakes.png and .svg (a histogram) and "
                        "OUTDIR/gradebook.csv (for an LMS); all or nothing, e.g. --feedback feedback/")
    p.add_argument("--feedback-format", choices=("html", "md", "text"), default="html",
                   help="format of the feedback pages and the summary (default html), e.g. --feedback-format md")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=run)


_FORMATS = {".csv": "csv", ".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def run(args) -> int:
    # Imported here: `backproof --help` and the other commands do not load the checker.
    from ..check import grade as g
    from ..check import report as feedback
    from ..check.answers import AnswerFileError
    from ..printing import format_number

    fmt = _output_format(args.output)
    _check_options(args)
    pages = None
    if args.feedback is not None:
        if is_stdout(args.feedback) or is_special_file(args.feedback):
            raise BackproofError(f"--feedback needs a folder, got {quote(args.feedback)}")
        pages = functools.partial(feedback.render_submission, args.feedback_format)
    try:
        report = g.grade(args.key, args.submissions, workers=g.cpu_workers(args.jobs), timeout=args.timeout,
                         carried_credit=args.carried_credit, feedback=pages,
                         progress=not args.no_progress and sys.stderr.isatty())
    except AnswerFileError as exc:
        for line in exc.problems:
            print(f"backproof: error: key: {line}", file=sys.stderr)
        return 2
    for problem in report.key.key_problems:
        print(f"backproof: warning: {problem}", file=sys.stderr)
    out: dict = {}
    if fmt is not None:
        out[args.output] = {"csv": g.render_csv, "json": g.render_json, "md": feedback.render_grade_markdown,
                            "html": feedback.render_grade_html}[fmt](report)
    if args.feedback is not None:
        _warn_shared_ids(report)
        files = feedback.class_feedback(report, args.feedback_format)
        out.update({Path(args.feedback, name): data for name, data in files.items()})
    write_group(out)  # -o and the feedback folder: all published, or none
    if fmt is None:
        for r in report.results:
            score = f"error: {r.error}" if r.error else f"{format_number(r.score)}/{r.total}"
            print(f"{_terminal(r.student)}\t{score}")
    sys.stdout.write(feedback.render_grade_summary(report))
    return 0 if report.all_correct else 1


def _warn_shared_ids(report) -> None:
    """Two submissions with one student id (``ada.yaml`` and ``ada.json``) give the gradebook two rows
    an LMS would read as one student: say so (both are graded; which counts is the teacher's call)."""
    by_id: dict[str, list[str]] = {}
    for r in report.results:
        by_id.setdefault(r.file.rsplit(".", 1)[0], []).append(r.file)
    for sid, files in by_id.items():
        if len(files) > 1:
            print(f"backproof: warning: gradebook: {len(files)} submissions share the student id "
                  f"{_terminal(sid)} ({', '.join(_terminal(f) for f in files)})", file=sys.stderr)


def _output_format(output: str | None) -> str | None:
    """The format an ``-o`` file's extension asks for (None: no file, rows go to the terminal)."""
    if not output:
        return None
    fmt = _FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise BackproofError(f"unknown output format {Path(output).suffix or '(none)'!r} for "
                             f"{output} (must be one of: .csv, .json, .md, .html)")
    return fmt


def _check_options(args) -> None:
    if args.jobs < 1:
        raise BackproofError(f"--jobs must be at least 1, got {args.jobs}")
    if not 0 < args.timeout < math.inf:
        raise BackproofError(f"--timeout must be a positive, finite number of seconds, got {args.timeout}")
    if args.carried_credit is not None and not 0 <= args.carried_credit <= 1:
        raise BackproofError(f"--carried-credit must be between 0 and 1, got {args.carried_credit}")


def _terminal(text: str) -> str:
    """A student's name for the terminal: as written when short and printable, else quoted
    (at most 80 characters, control characters escaped)."""
    return text if len(text) <= 80 and text.isprintable() else quote(text)
