"""The ``auditbook`` MkDocs plugin: control documents and evidence as a Material site.

The plugin adds a page per control document and generated pages (dashboard,
control register, framework coverage, run metadata), builds the nav with
controls grouped by layer, and swaps each ``auditbook`` fenced block for the
evidence of its checks. Evidence enters the page as escaped HTML after
Markdown has run. Without an evidence run the site still builds and shows
"Not yet collected" where evidence would be.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from auditbook.checks.registry import load_checks
from auditbook.config import Settings, config_schema, settings_from_options
from auditbook.controls import load_library
from auditbook.errors import ConfigError, EvidenceError, RenderError
from auditbook.evidence import EvidenceRun, EvidenceStore, VerifyProblem
from auditbook.history import History, VerdictCache, build_history
from auditbook.report import ControlResult, Report, build_report
from auditbook.site import blocks, changes
from auditbook.site.downloads import write_findings_files
from auditbook.site.pages import (
    GeneratedPage,
    PageKind,
    build_nav,
    control_source,
    generated_pages,
    generated_source,
    insert_after_heading,
    replace_check_blocks,
)
from auditbook.site.placeholders import Placeholders, Renderer

logger = logging.getLogger("mkdocs.plugins.auditbook")


def _config_class() -> type[base.Config]:
    """Build the plugin's MkDocs config class from the JSON Schema of the options.

    Each key of ``schemas/config.schema.json`` becomes an optional option
    that MkDocs accepts as it is. The schema, which documents every option
    and its default, validates the values in ``settings_from_options``.
    Deriving the keys keeps MkDocs from warning about an option that the
    schema allows, which would fail ``mkdocs build --strict``.
    """
    options = {
        key: c.Optional(base.BaseConfigOption())
        for key in config_schema()["properties"]
    }
    options["__doc__"] = "The ``auditbook`` plugin options, one per schema key."
    return type("AuditbookConfig", (base.Config,), options)


AuditbookConfig = _config_class()


class AuditbookPlugin(BasePlugin[AuditbookConfig]):
    """Render control documents with the evidence of the latest run."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.report: Report | None = None
        self.history: History | None = None
        self.history_cache = VerdictCache()
        self.problems: list[VerifyProblem] = []
        self.pages: dict[str, GeneratedPage] = {}
        self.placeholders = Placeholders()
        self.run_override: tuple[EvidenceRun | None] | None = None
        self.settings_override: Settings | None = None

    def use_run(
        self, run: EvidenceRun | None, settings: Settings | None = None
    ) -> None:
        """Render the given evidence run (or none) instead of the latest one.

        ``settings`` replaces the options of mkdocs.yml, as the CLI does for
        the demo, so the site and the PDF are built from the same settings.
        """
        self.run_override = (run,)
        self.settings_override = settings

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Load the settings, the control library, the latest run and its history.

        Raises:
            PluginError: an option is invalid, or the latest evidence run
                cannot be read.
        """
        # Per-build state starts empty, whether or not MkDocs reuses the
        # plugin object for the next rebuild of `mkdocs serve`.
        self.placeholders = Placeholders()
        self.problems = []
        options = {
            key: value for key, value in self.config.items() if value is not None
        }
        try:
            self.settings = self.settings_override or settings_from_options(
                options, path=Path(config.config_file_path)
            )
        except ConfigError as exc:
            raise PluginError(str(exc)) from exc
        settings = self.settings

        registry = load_checks()
        if not settings.controls_dir.is_dir():
            logger.warning(
                "controls_dir %s is not a folder; set controls_dir in mkdocs.yml",
                settings.controls_dir,
            )
        library = load_library(settings.controls_dir, set(registry))
        for error in library.errors:
            logger.warning("%s", error)

        try:
            if self.run_override is not None:
                run = self.run_override[0]
            else:
                run = EvidenceStore(settings.evidence_dir).open_latest_or_none()
        except EvidenceError as exc:
            raise PluginError(str(exc)) from exc
        if run is None:
            logger.info(
                "no evidence run in %s, so pages show 'Not yet collected'",
                settings.evidence_dir,
            )
        else:
            logger.info("rendering evidence run %s", run.run_id)
            self.problems = run.verify()
            for problem in self.problems:
                logger.warning(
                    "evidence run %s does not match its manifest: %s",
                    run.run_id,
                    problem,
                )

        try:
            self.report = build_report(settings, library.controls, registry, run)
            self.history = build_history(
                run, library.controls, settings, self.history_cache
            )
            self.pages = {page.uri: page for page in generated_pages(self.report)}
        except (ConfigError, EvidenceError, RenderError) as exc:
            raise PluginError(str(exc)) from exc
        return config

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        """Add the control and generated pages, and the nav when none is configured."""
        for page in self.pages.values():
            existing = files.get_file_from_path(page.uri)
            if existing is not None:
                logger.warning(
                    "%s in docs_dir is replaced by the generated page of the same "
                    "path; rename or remove it",
                    page.uri,
                )
                files.remove(existing)
            files.append(File.generated(config, page.uri, content=self._source(page)))

        if config.nav is None:
            others = sorted(
                file.src_uri
                for file in files.documentation_pages()
                if file.src_uri not in self.pages
            )
            config.nav = build_nav(list(self.pages.values()), others)
        else:
            logger.debug("keeping the nav from mkdocs.yml; generated pages are added")
            config.nav = [*config.nav, *build_nav(list(self.pages.values()), [])[1:]]
        return files

    def on_page_markdown(
        self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """Put placeholders for the banner, history, check blocks and CloudTrail.

        The CloudTrail excerpt goes at the end of the page.
        """
        generated = self._generated(page)
        if generated is None or generated.kind is not PageKind.CONTROL:
            return markdown

        result = generated.control
        uri = page.file.src_uri
        banner = self.placeholders.add(
            uri, partial(blocks.render_banner, result, self.report)
        )

        strip = self.placeholders.add(
            uri, partial(changes.render_history, result, self.report, self.history)
        )

        def issue_token(check_ids: list[str]) -> str:
            return self.placeholders.add(
                uri, partial(self._checks_html, result, check_ids)
            )

        markdown = replace_check_blocks(markdown, issue_token)
        activity = self.placeholders.add(
            uri, partial(blocks.render_activity, result, self.report)
        )
        markdown = f"{markdown.rstrip()}\n\n{activity}\n"
        return insert_after_heading(markdown, f"{banner}\n\n{strip}")

    def on_page_content(
        self, html: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """Swap each placeholder paragraph for its evidence HTML."""
        if self._generated(page) is None:
            return html
        try:
            html, missing = self.placeholders.substitute(
                page.file.src_uri, html, blocks.Links(page, files)
            )
        except RenderError as exc:
            raise PluginError(f"{page.file.src_uri}: {exc}") from exc
        for _ in missing:
            logger.warning(
                "%s: an evidence block was lost in Markdown rendering; keep "
                "```auditbook blocks outside raw HTML",
                page.file.src_uri,
            )
        return html

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        """Write ``findings/<control-id>.json`` with every finding of each control."""
        try:
            write_findings_files(self.report, Path(config.site_dir))
        except RenderError as exc:
            raise PluginError(str(exc)) from exc

    def on_serve(
        self, server: LiveReloadServer, *, config: MkDocsConfig, builder: Any
    ) -> LiveReloadServer:
        """Rebuild on a change to a control document or a new evidence run."""
        for folder in (self.settings.controls_dir, self.settings.evidence_dir):
            if folder.is_dir():
                server.watch(str(folder))
        return server

    def _generated(self, page: Page) -> GeneratedPage | None:
        # on_files replaced any docs_dir file at a generated path, so a page
        # at such a path is always the generated one.
        return self.pages.get(page.file.src_uri)

    def _source(self, page: GeneratedPage) -> str:
        if page.kind is PageKind.CONTROL:
            return control_source(page.control.control)
        token = self.placeholders.add(page.uri, self._page_renderer(page))
        return generated_source(page, token)

    def _page_renderer(self, page: GeneratedPage) -> Renderer:
        report = self.report
        if page.kind is PageKind.HOME:
            return partial(blocks.render_home, report)
        if page.kind is PageKind.CONTROLS:
            return partial(blocks.render_controls, report)
        if page.kind is PageKind.FRAMEWORK:
            return partial(blocks.render_framework, report, page.framework_key)
        if page.kind is PageKind.CHANGES:
            return partial(changes.render_changes, report, self.history)
        return lambda _links: blocks.render_run(report, self.problems)

    def _checks_html(
        self, result: ControlResult, check_ids: list[str], links: blocks.Links
    ) -> str:
        by_id = {check.check_id: check for check in result.checks}
        return "\n".join(
            blocks.render_check(by_id[check_id], result.control, self.report, links)
            for check_id in check_ids
            if check_id in by_id
        )
