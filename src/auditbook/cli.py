"""The ``auditbook`` command line.

Exit codes: 0 when every gated control passes, 1 when a failure reaches the
``--fail-on`` severity (or ``validate`` or ``verify`` finds a problem), 2 for
usage, configuration and collection errors, including any ERROR finding.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from auditbook import __version__
from auditbook.checks.registry import load_checks
from auditbook.config import Settings, config_schema, load_settings
from auditbook.controls import ControlLibrary, load_library
from auditbook.errors import (
    EXIT_ERROR,
    EXIT_FAILING,
    EXIT_OK,
    AuditbookError,
    ConfigError,
    EvidenceError,
)
from auditbook.evidence import EvidenceStore
from auditbook.pipeline import (
    attestation_errors,
    collect_run,
    gate,
    render_outputs,
    select_checks,
)
from auditbook.riskexceptions import annotate, load_exceptions, stale_exceptions

logger = logging.getLogger("auditbook")

REGION_PATTERN = re.compile(config_schema()["$defs"]["region"]["pattern"])

# Subfolder of the evidence folder that contains the demo's runs.
DEMO_EVIDENCE_FOLDER = "demo"

SEVERITIES = ("critical", "high", "medium", "low", "informational", "never")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)

    try:
        return args.handler(args)
    except AuditbookError as exc:
        print(f"auditbook: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "auditbook: interrupted; the previous evidence run is kept", file=sys.stderr
        )
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of stdout went away (as with `| head`): nothing to report.
        sys.stdout = None
        return EXIT_OK
    except Exception:
        # Python exits with 1 on an uncaught exception, and 1 means "controls
        # failing" to a scheduler. A crash is a broken run, so it exits with 2.
        logger.exception("auditbook stopped on an unexpected error")
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditbook",
        description="Collect read-only AWS evidence for control documents and "
        "render a site, a PDF audit pack and a workbook.",
    )
    parser.add_argument(
        "--version", action="version", version=f"auditbook {__version__}"
    )
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path("mkdocs.yml"),
        help="mkdocs.yml holding the auditbook plugin options (default: ./mkdocs.yml)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each AWS call"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    collect = commands.add_parser(
        "collect", help="run the checks and store an evidence run"
    )
    _collection_options(collect)
    collect.set_defaults(handler=cmd_collect)

    render = commands.add_parser(
        "render", help="build the site, PDF and workbook from an evidence run (no AWS)"
    )
    render.add_argument("--run", help="run id to render (default: the latest)")
    render.add_argument(
        "--evidence", type=Path, help="evidence folder (default: from config)"
    )
    render.add_argument(
        "--site-dir",
        type=Path,
        default=Path("site"),
        help="output folder (default: site)",
    )
    render.set_defaults(handler=cmd_render)

    build = commands.add_parser("build", help="collect, then render")
    _collection_options(build)
    build.add_argument(
        "--site-dir",
        type=Path,
        default=Path("site"),
        help="output folder (default: site)",
    )
    build.add_argument(
        "--demo",
        action="store_true",
        help="collect from the built-in demo account on a local moto server",
    )
    build.set_defaults(handler=cmd_build)

    validate = commands.add_parser(
        "validate", help="check control documents and configuration (no AWS)"
    )
    validate.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="text: file:line: message; github: GitHub Actions annotations",
    )
    validate.set_defaults(handler=cmd_validate)

    checks = commands.add_parser("checks", help="list the registered checks")
    checks.add_argument("--format", choices=("text", "json"), default="text")
    checks.set_defaults(handler=cmd_checks)

    policy = commands.add_parser(
        "iam-policy", help="print the read-only IAM policy collection needs"
    )
    policy.set_defaults(handler=cmd_iam_policy)

    verify = commands.add_parser("verify", help="recompute an evidence run's hashes")
    verify.add_argument("run", nargs="?", help="run id (default: the latest)")
    verify.add_argument(
        "--evidence", type=Path, help="evidence folder (default: from config)"
    )
    verify.add_argument(
        "--chain",
        action="store_true",
        help="verify every run, oldest first, and each run's link to the one before",
    )
    verify.add_argument(
        "--expect-key",
        metavar="KEY_ARN",
        help="fail unless the run is signed by this KMS key ARN",
    )
    verify.set_defaults(handler=cmd_verify)
    return parser


def _collection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--regions",
        type=_region_list,
        help="comma-separated regions (default: from config, else all enabled)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="evidence folder (default: from config, else evidence/)",
    )
    parser.add_argument(
        "--checks",
        type=_comma_list,
        help="comma-separated check IDs to collect (default: all referenced)",
    )
    parser.add_argument(
        "--sign-kms-key",
        metavar="KEY",
        help="sign the run's manifest with this KMS asymmetric key (id, alias or ARN)",
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        help="lowest control severity whose failure exits with 1 (default: high)",
    )


def _region_list(text: str) -> list[str]:
    regions = _comma_list(text)
    for region in regions:
        if not REGION_PATTERN.match(region):
            raise argparse.ArgumentTypeError(
                f"{region!r} is not a region name such as 'eu-west-2'"
            )
    return regions


def _comma_list(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    elif quiet:
        level = logging.WARNING
    if sys.stderr.isatty():
        fmt = "%(levelname)-7s %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, datefmt="%Y-%m-%dT%H:%M:%S%z")
    logging.Formatter.converter = time.gmtime
    if not verbose:
        for noisy in (
            "botocore",
            "boto3",
            "urllib3",
            "werkzeug",
            "fontTools",
            "weasyprint",
        ):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(args: argparse.Namespace) -> tuple[Settings, ControlLibrary, dict]:
    if not args.config.exists():
        raise ConfigError(
            f"configuration {args.config} not found; run from the project folder "
            "or pass --config PATH"
        )
    settings = load_settings(args.config)
    registry = load_checks()
    library = load_library(settings.controls_dir, set(registry))
    if not settings.controls_dir.is_dir():
        raise ConfigError(
            f"controls folder {settings.controls_dir} not found; set controls_dir",
            path=args.config,
        )
    problems = library.errors + attestation_errors(settings, library)
    if problems:
        for error in problems:
            print(error, file=sys.stderr)
        raise ConfigError(
            f"{len(problems)} problem(s) in control documents or attestations; run "
            "'auditbook validate' and fix them"
        )
    return settings, library, registry


def cmd_collect(args: argparse.Namespace) -> int:
    settings, library, registry = _load(args)
    return _collect(args, settings, library, registry)


def _collect(args, settings: Settings, library: ControlLibrary, registry: dict) -> int:
    checks = select_checks(library, registry, settings, args.checks)
    store = EvidenceStore(args.out or settings.evidence_dir)
    run = collect_run(
        settings,
        library,
        checks,
        store,
        regions=args.regions,
        sign_kms_key=args.sign_kms_key,
        progress=_terminal_progress() if sys.stderr.isatty() else None,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)

    findings = run.findings()
    excepted = excepted_keys(settings, library, run, findings)
    outcome = gate(findings, library, args.fail_on or settings.fail_on, excepted)
    counts = run.metadata["status_counts"]
    print(
        f"evidence run {run.run_id}: {counts['PASS']} passed, "
        f"{counts['FAIL'] - len(excepted)} failed, {len(excepted)} excepted, "
        f"{counts['ERROR']} errors, {counts['NOT_APPLICABLE']} not applicable "
        f"({run.metadata['api_calls']['total']} AWS API calls) in {run.path}"
    )
    if outcome.errors:
        print(
            f"auditbook: {outcome.errors} finding(s) are ERROR: the evidence is "
            "incomplete; see the messages for the AWS error codes",
            file=sys.stderr,
        )
    return outcome.exit_code


def excepted_keys(settings: Settings, library: ControlLibrary, run, findings) -> set:
    """Return the sort keys of the findings an active exception covers."""
    exceptions = load_exceptions(settings.exceptions_file)
    on = datetime.fromisoformat(run.metadata["finished_at"]).date()
    control_checks = {c.id: set(c.check_ids) for c in library.controls}
    annotations = annotate(findings, exceptions, control_checks, on)
    for key, annotation in annotations.items():
        if annotation.expired:
            logger.warning(
                "exception %s expired on %s; %s is FAIL again",
                annotation.exception.id,
                annotation.exception.expires,
                key[3],
            )
    return {key for key, a in annotations.items() if not a.expired}


def _require_intact(run) -> None:
    """Refuse to render a run whose files no longer match its manifest.

    Raises:
        EvidenceError: a file was altered, removed or added after collection.
    """
    problems = run.verify()
    if problems:
        listed = "; ".join(str(problem) for problem in problems[:5])
        raise EvidenceError(
            f"run {run.run_id} does not match its manifest ({listed}); reports "
            "from altered evidence would mislead an auditor, so none were built. "
            "Run 'auditbook verify' for the full list"
        )


def _terminal_progress():
    """Return a callback that redraws one progress line on the terminal."""

    def show(done: int, total: int, scope: str) -> None:
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} scopes, last: {scope:<30}")
        sys.stderr.flush()

    return show


def cmd_render(args: argparse.Namespace) -> int:
    settings, library, registry = _load(args)
    store = EvidenceStore(args.evidence or settings.evidence_dir)
    run = store.open(args.run) if args.run else store.open_latest_or_none()
    if run is not None:
        _require_intact(run)
    if run is None:
        logger.warning(
            "no evidence run in %s; rendering 'not yet collected'", store.root
        )
    outputs = render_outputs(
        settings, library, registry, run, args.site_dir, args.config
    )
    _print_outputs(outputs)
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    settings, library, registry = _load(args)

    if args.demo:
        from auditbook.demo import demo_environment
        from auditbook.demo.environment import demo_settings

        # The demo keeps its runs apart, so a real run never chains to them.
        args.out = args.out or settings.evidence_dir / DEMO_EVIDENCE_FOLDER
        with demo_environment(settings) as simulated:
            code = _collect(args, simulated, library, registry)
        settings = demo_settings(settings)
    else:
        code = _collect(args, settings, library, registry)

    settings = replace(settings, evidence_dir=Path(args.out or settings.evidence_dir))
    run = EvidenceStore(settings.evidence_dir).open()
    outputs = render_outputs(
        settings, library, registry, run, args.site_dir, args.config
    )
    _print_outputs(outputs)
    return code


def _print_outputs(outputs) -> None:
    print(f"site: {outputs.site_dir / 'index.html'}")
    print(f"pdf: {outputs.pdf}")
    print(f"workbook: {outputs.workbook}")


def cmd_validate(args: argparse.Namespace) -> int:
    problems: list[tuple[str, int | None, str]] = []
    if not args.config.exists():
        raise ConfigError(
            f"configuration {args.config} not found; run from the project folder "
            "or pass --config PATH before the command"
        )
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        problems.append((str(exc.path or args.config), exc.line, _bare(exc)))
        settings = None

    if settings is not None and not settings.controls_dir.is_dir():
        problems.append(
            (
                str(args.config),
                None,
                f"controls folder {settings.controls_dir} not found; set controls_dir",
            )
        )
        settings = None

    if settings is not None:
        registry = load_checks()
        library = load_library(settings.controls_dir, set(registry))
        for error in library.errors + attestation_errors(settings, library):
            problems.append((str(error.path), error.line, _bare(error)))
        problems.extend(_exception_problems(settings, library, args.format))
        for check_id in settings.out_of_scope:
            if check_id not in registry:
                problems.append(
                    (
                        str(args.config),
                        None,
                        f"out_of_scope names unknown check ID {check_id!r}",
                    )
                )
        count = len(library.controls)
    else:
        count = 0

    for path, line, message in problems:
        print(_format_problem(args.format, path, line, message))
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_FAILING
    print(f"{count} control documents and the configuration are valid")
    return EXIT_OK


def _exception_problems(
    settings: Settings, library: ControlLibrary, fmt: str = "text"
) -> list[tuple[str, int | None, str]]:
    """Return problems in the exceptions file, stale exceptions included.

    An exception is stale when the latest evidence run has no FAIL finding
    it matches; without a run, staleness is not judged.
    """
    path = settings.exceptions_file
    try:
        exceptions = load_exceptions(path)
    except ConfigError as exc:
        return [(str(exc.path or path), exc.line, _bare(exc))]

    problems = []
    control_ids = {c.id for c in library.controls}
    for exception in exceptions:
        if exception.control and exception.control not in control_ids:
            problems.append(
                (
                    str(path),
                    exception.line,
                    f"exception {exception.id} names unknown "
                    f"control {exception.control!r}",
                )
            )
        if exception.check and exception.check not in load_checks():
            problems.append(
                (
                    str(path),
                    exception.line,
                    f"exception {exception.id} names unknown "
                    f"check ID {exception.check!r}",
                )
            )

    run = EvidenceStore(settings.evidence_dir).open_latest_or_none()
    if run is None:
        return problems
    on = datetime.fromisoformat(run.metadata["finished_at"]).date()
    control_checks = {c.id: set(c.check_ids) for c in library.controls}
    for exception in stale_exceptions(run.findings(), exceptions, control_checks, on):
        problems.append(
            (
                str(path),
                exception.line,
                f"exception {exception.id} is stale: it matches no failing finding "
                f"in run {run.run_id}; remove it",
            )
        )
    for exception in exceptions:
        if exception.expired(on):
            message = f"exception {exception.id} expired on {exception.expires}"
            print(_format_problem(fmt, str(path), exception.line, message, "warning"))
    return problems


def _bare(error: AuditbookError) -> str:
    return error.args[0] if error.args else str(error)


def _format_problem(
    fmt: str, path: str, line: int | None, message: str, level: str = "error"
) -> str:
    path = _relative(path)
    if fmt == "github":
        location = f"file={path}" + (f",line={line}" if line else "")
        escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{level} {location}::{escaped}"
    prefix = f"{path}:{line}: " if line else f"{path}: "
    return f"{prefix}warning: {message}" if level == "warning" else prefix + message


def _relative(path: str) -> str:
    """Return the path relative to the working folder when it lies inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


def cmd_checks(args: argparse.Namespace) -> int:
    registry = load_checks()
    specs = sorted(registry.values(), key=lambda s: s.check_id)
    if args.format == "json":
        rows = [
            {
                "check_id": s.check_id,
                "title": s.title,
                "service": s.service,
                "granularity": s.granularity,
                "severity": str(s.severity),
                "proves": s.proves,
                "permissions": list(s.permissions),
            }
            for s in specs
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK

    width = max(len(s.check_id) for s in specs)
    for spec in specs:
        print(f"{spec.check_id:<{width}}  {spec.granularity:<20}  {spec.title}")
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from auditbook.iam_policy import read_only_policy

    print(json.dumps(read_only_policy(load_checks().values()), indent=2))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    folder = args.evidence
    if folder is None:
        folder = Path("evidence")
        if args.config.is_file():
            folder = load_settings(args.config).evidence_dir
    store = EvidenceStore(folder)

    if args.chain:
        problems = store.verify_chain()
        for problem in problems:
            print(f"{store.runs_dir / problem.file}: {problem.problem}")
        if problems:
            print(
                "the evidence chain is broken at the first file above", file=sys.stderr
            )
            return EXIT_FAILING
        print(f"{len(store.run_ids())} runs verified; the chain is intact")
        return EXIT_OK

    run = store.open(args.run)
    problems = run.verify()
    for problem in problems:
        print(f"{run.path / problem.file}: {problem.problem}")
    if problems:
        print(
            f"run {run.run_id}: {len(problems)} problem(s); the evidence was altered",
            file=sys.stderr,
        )
        return EXIT_FAILING

    signer = run.signed_by()
    if args.expect_key and signer != args.expect_key:
        print(
            f"run {run.run_id}: signed by {signer or 'no key'}, not by "
            f"{args.expect_key}; the signature proves nothing about its origin",
            file=sys.stderr,
        )
        return EXIT_FAILING
    count = len(run.manifest["files"])
    signed = f"signed by {signer}" if signer else "not signed"
    print(f"run {run.run_id}: {count} files match the manifest; {signed}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
