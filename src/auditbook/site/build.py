"""Build the site from the CLI, for a chosen evidence run."""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from auditbook.config import Settings
from auditbook.errors import RenderError
from auditbook.evidence import EvidenceRun

logger = logging.getLogger(__name__)


def build_site(
    config_file: Path, site_dir: Path, settings: Settings, run: EvidenceRun | None
) -> Path:
    """Build the MkDocs site of ``config_file`` into ``site_dir`` for one run.

    Raises:
        RenderError: MkDocs rejected the configuration or the build failed.
    """
    try:
        config = load_config(config_file=str(config_file), site_dir=str(site_dir))
        plugin = config.plugins.get("auditbook")
        if plugin is None:
            raise RenderError(
                f"{config_file} does not enable the auditbook plugin; add "
                "'- auditbook' under plugins"
            )
        plugin.use_run(run, settings)
        build(config)
    except MkDocsException as exc:
        raise RenderError(f"the site build failed: {exc}") from exc

    logger.info("built the site for %s in %s", settings.organisation, site_dir)
    return Path(site_dir)
