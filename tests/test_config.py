from pathlib import Path

import pytest

from auditbook.config import load_settings
from auditbook.errors import ConfigError

CONFIG = """site_name: evidence
theme:
  name: material
markdown_extensions:
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
plugins:
  - search
  - auditbook:
      organisation: Example Ltd
      regions: [eu-west-2]
      thresholds:
        access_key_max_age_days: 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mkdocs.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_options_load_with_defaults(tmp_path):
    settings = load_settings(write(tmp_path, CONFIG))

    assert settings.organisation == "Example Ltd"
    assert settings.regions == ("eu-west-2",)
    assert settings.thresholds.access_key_max_age_days == 60
    assert settings.thresholds.credentials_unused_days == 45
    assert settings.approved_regions == ("eu-west-2", "eu-west-1")
    assert settings.controls_dir == tmp_path / "controls"


def test_bad_region_names_key_and_line(tmp_path):
    path = write(tmp_path, CONFIG.replace("[eu-west-2]", "[eu-west-2, london]"))

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.key == "regions.1"
    assert raised.value.line == 11
    assert "'london' is not a region name such as 'eu-west-2'" in str(raised.value)


def test_wrong_type_threshold_rejected(tmp_path):
    path = write(tmp_path, CONFIG.replace("60", "sixty"))

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.key == "thresholds.access_key_max_age_days"
    assert raised.value.line == 13


def test_misspelt_option_suggests_and_names_line(tmp_path):
    path = write(tmp_path, CONFIG.replace("thresholds:", "thresolds:"))

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.line == 12
    assert "unknown option 'thresolds'; did you mean 'thresholds'?" in str(raised.value)


def test_unknown_option_lists_allowed(tmp_path):
    path = write(tmp_path, CONFIG.replace("organisation:", "zzz:"))

    with pytest.raises(ConfigError, match="allowed keys are"):
        load_settings(path)


def test_missing_plugin_entry_explained(tmp_path):
    path = write(tmp_path, "site_name: x\nplugins:\n  - search\n")

    with pytest.raises(ConfigError, match="add '- auditbook'"):
        load_settings(path)


def test_bare_plugin_entry_uses_defaults(tmp_path):
    settings = load_settings(write(tmp_path, "plugins:\n  - auditbook\n"))

    assert settings.fail_on == "high"


def test_invalid_yaml_names_line(tmp_path):
    path = write(tmp_path, "plugins:\n  - auditbook: {regions: [\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.line == 3


def test_env_tag_reads_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITBOOK_ORG", "From Env Ltd")
    text = "plugins:\n  - auditbook:\n      organisation: !ENV AUDITBOOK_ORG\n"

    settings = load_settings(write(tmp_path, text))

    assert settings.organisation == "From Env Ltd"


def test_repository_config_is_valid():
    path = Path(__file__).parents[1] / "mkdocs.yml"
    if not path.exists():
        pytest.skip("mkdocs.yml not written yet")

    settings = load_settings(path)

    assert settings.approved_regions == ("eu-west-2", "eu-west-1")


def test_pdf_variant_read(tmp_path):
    text = CONFIG + "      pdf:\n        variant: pdf/a-3b\n"

    assert load_settings(write(tmp_path, text)).pdf_variant == "pdf/a-3b"
    assert load_settings(write(tmp_path, CONFIG)).pdf_variant is None


def test_unsupported_pdf_variant_rejected(tmp_path):
    path = write(tmp_path, CONFIG + "      pdf:\n        variant: pdf/a-2b\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.key == "pdf.variant"
    assert "pdf/a-3b" in str(raised.value)
