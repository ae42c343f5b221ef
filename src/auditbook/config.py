"""The project configuration: the ``auditbook`` plugin options in ``mkdocs.yml``.

The CLI and the MkDocs plugin read the same options, validated against
``schemas/config.schema.json``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from auditbook.errors import ConfigError
from auditbook.yamlfile import PythonTag, YamlDocument, YamlLimitError, load_yaml

PLUGIN_NAME = "auditbook"

DEFAULT_APPROVED_REGIONS = ("eu-west-2", "eu-west-1")

# PostgreSQL, MySQL, SQL Server, Oracle, MongoDB, Redis, Memcached, Elasticsearch.
DEFAULT_DATABASE_PORTS = (5432, 3306, 1433, 1521, 27017, 6379, 11211, 9200)


@dataclass(frozen=True)
class Thresholds:
    """Ages in days that checks compare against."""

    root_unused_days: int = 30
    access_key_max_age_days: int = 90
    credentials_unused_days: int = 45
    secret_rotation_days: int = 90
    log_retention_days: int = 365
    attestation_max_age_days: int = 365


@dataclass(frozen=True)
class AccountTarget:
    """An account to collect, and the role to assume there if any."""

    id: str
    name: str = ""
    role_name: str | None = None


@dataclass(frozen=True)
class Settings:
    """The validated project configuration, with defaults filled in.

    Paths are absolute, resolved against the folder of ``mkdocs.yml``.
    """

    root: Path
    organisation: str = "Example Organisation"
    prepared_by: str = ""
    scope_statement: str = ""
    controls_dir: Path = Path("controls")
    evidence_dir: Path = Path("evidence")
    exceptions_file: Path = Path("exceptions.yml")
    home_region: str | None = None
    regions: tuple[str, ...] = ()
    accounts: tuple[AccountTarget, ...] = ()
    approved_regions: tuple[str, ...] = DEFAULT_APPROVED_REGIONS
    thresholds: Thresholds = field(default_factory=Thresholds)
    database_ports: tuple[int, ...] = DEFAULT_DATABASE_PORTS
    sensitive_bucket_tag_key: str = "data-classification"
    sensitive_bucket_tag_values: tuple[str, ...] = ("confidential", "restricted")
    out_of_scope: tuple[str, ...] = ()
    fail_on: str = "high"
    max_workers: int = 8
    pdf_max_findings_per_control: int = 50
    pdf_filename: str = "audit-pack.pdf"
    pdf_variant: str | None = None
    workbook_filename: str = "evidence.xlsx"
    site_max_findings_per_table: int = 200
    cloudtrail_source: str = "lookup"
    cloudtrail_days: int = 30
    cloudtrail_max_events_per_control: int = 50
    cloudtrail_bucket: str | None = None
    cloudtrail_prefix: str | None = None
    history_runs: int = 30
    history_days: int | None = None
    source: Path | None = None
    attestations_override: Path | None = None

    @property
    def attestations_dir(self) -> Path:
        """Return the folder of attestation files: ``<evidence_dir>/manual``."""
        return self.attestations_override or self.evidence_dir / "manual"

    def for_run(self) -> dict[str, Any]:
        """Return the options recorded in ``run.json``."""
        return {
            "regions": list(self.regions),
            "home_region": self.home_region,
            "accounts": [a.id for a in self.accounts],
            "approved_regions": list(self.approved_regions),
            "thresholds": vars(self.thresholds),
            "database_ports": list(self.database_ports),
            "sensitive_bucket_tag": {
                "key": self.sensitive_bucket_tag_key,
                "values": list(self.sensitive_bucket_tag_values),
            },
            "out_of_scope": list(self.out_of_scope),
            "cloudtrail": {
                "source": self.cloudtrail_source,
                "days": self.cloudtrail_days,
                "max_events_per_control": self.cloudtrail_max_events_per_control,
                "bucket": self.cloudtrail_bucket,
                "prefix": self.cloudtrail_prefix,
            },
        }


@cache
def config_schema() -> dict[str, Any]:
    """Return the JSON Schema of the plugin options."""
    text = resources.files("auditbook").joinpath("schemas/config.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def load_settings(path: Path) -> Settings:
    """Read and validate the ``auditbook`` plugin options of a ``mkdocs.yml``.

    Raises:
        ConfigError: the file is missing or unreadable, is not valid YAML, or
            an option is invalid; the message names the line and the fix.
    """
    path = Path(path)
    text = _read_config(path)
    try:
        document = load_yaml(text, mkdocs_tags=True)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"invalid YAML: {problem}; fix the syntax at this line",
            path=path,
            line=line,
        ) from exc
    except YamlLimitError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            exc.problem, path=path, line=mark.line + 1 if mark else None
        ) from exc

    options, base = _plugin_options(document, path)
    _reject_duplicates(document, base, path)
    _reject_python_tags(options, document, base, path)
    return settings_from_options(options, path, document, base)


def _read_config(path: Path) -> str:
    if path.is_dir():
        raise ConfigError(
            "is a folder, not a configuration file; pass the path of mkdocs.yml",
            path=path,
        )
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the configuration: {exc.strerror or exc}", path=path
        ) from exc
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}, 0x{content[exc.start]:02x}); "
            "save the file as UTF-8",
            path=path,
            line=content.count(b"\n", 0, exc.start) + 1,
        ) from exc


def _reject_duplicates(document: YamlDocument, base: tuple, path: Path) -> None:
    # MkDocs keeps the last value of a repeated key anywhere in mkdocs.yml;
    # among the auditbook options a repeated key would hide the first value.
    for key_path, line, first in sorted(document.duplicates, key=lambda d: d[1]):
        if key_path[: len(base)] == base and len(key_path) > len(base):
            key = ".".join(str(part) for part in key_path[len(base) :])
            raise ConfigError(
                f"option {key!r} appears twice, first at line {first}; YAML "
                "keeps only the last value, so remove one",
                path=path,
                line=line,
                key=key,
            )


def _reject_python_tags(
    options: Any, document: YamlDocument, base: tuple, path: Path
) -> None:
    # MkDocs builds a Python object from a !!python/... tag when it loads
    # mkdocs.yml. No auditbook option takes one, so the tag is an error.
    pending: list[tuple[tuple, Any]] = [((), options)]
    while pending:
        key_path, value = pending.pop()
        if isinstance(value, PythonTag):
            key = ".".join(str(part) for part in key_path) or PLUGIN_NAME
            raise ConfigError(
                f"option {key!r} is the YAML tag {value}, from which MkDocs "
                "builds a Python object; auditbook options take plain values",
                path=path,
                line=document.line_of((*base, *key_path)),
                key=key,
            )
        if isinstance(value, dict):
            pending.extend(((*key_path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend(((*key_path, i), v) for i, v in enumerate(value))


def settings_from_options(
    options: dict[str, Any],
    path: Path,
    document: YamlDocument | None = None,
    base: tuple = (),
) -> Settings:
    """Validate plugin options and build :class:`Settings` from them.

    Raises:
        ConfigError: an option is invalid.
    """
    validator = jsonschema.Draft202012Validator(config_schema())
    errors = sorted(validator.iter_errors(options), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        error_path = list(error.path)
        if error.validator == "additionalProperties":
            # Point at the misspelt key itself, not at the mapping holding it.
            unknown = sorted(set(error.instance) - set(error.schema["properties"]))
            error_path.append(unknown[0])
        key = ".".join(str(p) for p in error_path) or PLUGIN_NAME
        line = document.line_of((*base, *error_path)) if document else None
        raise ConfigError(
            f"option {key!r} is invalid: {_describe(error)}",
            path=path,
            line=line,
            key=key,
        )

    root = path.resolve().parent
    thresholds = Thresholds(**options.get("thresholds", {}))
    tag = options.get("sensitive_bucket_tag", {})
    pdf = options.get("pdf", {})
    workbook = options.get("workbook", {})
    site = options.get("site", {})
    cloudtrail = options.get("cloudtrail", {})
    history = options.get("history", {})
    defaults = Settings(root=root)
    if (
        cloudtrail.get("source", "lookup") == "lookup"
        and cloudtrail.get("days", 30) > 90
    ):
        raise ConfigError(
            f"option 'cloudtrail.days' is {cloudtrail['days']}, but LookupEvents "
            "covers at most 90 days; lower it or set cloudtrail.source to s3",
            path=path,
            line=document.line_of((*base, "cloudtrail", "days")) if document else None,
            key="cloudtrail.days",
        )

    return Settings(
        root=root,
        organisation=options.get("organisation", defaults.organisation),
        prepared_by=options.get("prepared_by", ""),
        scope_statement=options.get("scope_statement", ""),
        controls_dir=root / options.get("controls_dir", "controls"),
        evidence_dir=root / options.get("evidence_dir", "evidence"),
        exceptions_file=root / options.get("exceptions_file", "exceptions.yml"),
        home_region=options.get("home_region"),
        regions=tuple(options.get("regions", ())),
        accounts=tuple(AccountTarget(**a) for a in options.get("accounts", ())),
        approved_regions=tuple(
            options.get("approved_regions", DEFAULT_APPROVED_REGIONS)
        ),
        thresholds=thresholds,
        database_ports=tuple(options.get("database_ports", DEFAULT_DATABASE_PORTS)),
        sensitive_bucket_tag_key=tag.get("key", defaults.sensitive_bucket_tag_key),
        sensitive_bucket_tag_values=tuple(
            tag.get("values", defaults.sensitive_bucket_tag_values)
        ),
        out_of_scope=tuple(options.get("out_of_scope", ())),
        fail_on=options.get("fail_on", defaults.fail_on),
        max_workers=options.get("max_workers", defaults.max_workers),
        pdf_max_findings_per_control=pdf.get(
            "max_findings_per_control", defaults.pdf_max_findings_per_control
        ),
        pdf_filename=pdf.get("filename", defaults.pdf_filename),
        pdf_variant=pdf.get("variant"),
        workbook_filename=workbook.get("filename", defaults.workbook_filename),
        site_max_findings_per_table=site.get(
            "max_findings_per_table", defaults.site_max_findings_per_table
        ),
        cloudtrail_source=cloudtrail.get("source", defaults.cloudtrail_source),
        cloudtrail_days=cloudtrail.get("days", defaults.cloudtrail_days),
        cloudtrail_max_events_per_control=cloudtrail.get(
            "max_events_per_control", defaults.cloudtrail_max_events_per_control
        ),
        cloudtrail_bucket=cloudtrail.get("bucket"),
        cloudtrail_prefix=cloudtrail.get("prefix"),
        history_runs=history.get("runs", defaults.history_runs),
        history_days=history.get("days"),
        source=path,
    )


def _plugin_options(document: YamlDocument, path: Path) -> tuple[dict, tuple]:
    data = document.data
    if not isinstance(data, dict):
        raise ConfigError("expected a YAML mapping at the top level", path=path, line=1)

    plugins = data.get("plugins") or []
    if isinstance(plugins, dict):
        entries = list(plugins.items())
        for name, options in entries:
            if name == PLUGIN_NAME:
                return _options_mapping(options, path, document, ("plugins", name))
    elif isinstance(plugins, list):
        for index, entry in enumerate(plugins):
            if entry == PLUGIN_NAME:
                return {}, ("plugins", index)
            if isinstance(entry, dict) and PLUGIN_NAME in entry:
                return _options_mapping(
                    entry[PLUGIN_NAME],
                    path,
                    document,
                    ("plugins", index, PLUGIN_NAME),
                )

    raise ConfigError(
        f"no {PLUGIN_NAME!r} entry under 'plugins'; add '- {PLUGIN_NAME}' to the "
        "plugins list",
        path=path,
        line=document.line_of(("plugins",), 1),
    )


def _options_mapping(
    options: Any, path: Path, document: YamlDocument, base: tuple
) -> tuple[dict, tuple]:
    if options is None:
        return {}, base
    if not isinstance(options, dict):
        raise ConfigError(
            f"the {PLUGIN_NAME!r} plugin options must be a mapping, not "
            f"{type(options).__name__}",
            path=path,
            line=document.line_of(base),
        )
    return options, base


def _region_pattern() -> str:
    return config_schema()["$defs"]["region"]["pattern"]


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))[0]
        close = difflib.get_close_matches(unknown, allowed, n=1)
        if close:
            return f"unknown option {unknown!r}; did you mean {close[0]!r}?"
        return f"unknown option {unknown!r}; allowed keys are {', '.join(allowed)}"
    if (
        error.validator == "pattern"
        and error.schema.get("pattern") == _region_pattern()
    ):
        return f"{error.instance!r} is not a region name such as 'eu-west-2'"
    if error.validator == "pattern":
        return f"{error.instance!r} does not match {error.schema['pattern']!r}"
    return error.message
