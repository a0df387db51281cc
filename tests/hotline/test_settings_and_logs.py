import pytest

from config import ConfigError, load_settings


def test_env_overrides_file_and_types_are_checked():
    s = load_settings(environ={"HOTLINE_ENGINE_AGI_PORT": "4600", "HOTLINE_VOSK_MODEL": "/m"})
    assert s.engine.agi_port == 4600
    assert s.asr.vosk_model == "/m"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOTLINE_ENGINE_AGI_PORT": "abc"}, "engine.agi_port"),
        ({"HOTLINE_ENGINE_AGI_PORT": "70000"}, "engine.agi_port"),
        ({"HOTLINE_NOPE": "1"}, "HOTLINE_NOPE: unknown setting"),
        ({"HOTLINE_ENGINE_NOPE": "1"}, "engine.nope: unknown setting"),
        ({"HOTLINE_ENGINE_LOG_LEVEL": "LOUD"}, "engine.log_level"),
    ],
)
def test_bad_settings_name_the_key(env, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(environ=env)


def test_unknown_key_in_file_is_named(tmp_path):
    f = tmp_path / "h.toml"
    f.write_text("[engine]\nagi_prot = 1\n")
    with pytest.raises(ConfigError, match=r"engine\.agi_prot: unknown setting"):
        load_settings(f, environ={})


def test_relative_paths_are_anchored_to_the_project(tmp_path):
    f = tmp_path / "h.toml"
    f.write_text('dialplan = { path = "dialplans" }\n')
    s = load_settings(f, environ={})
    assert s.dialplan.path.is_absolute() and s.dialplan.path.name == "dialplans"



def test_engine_start_logging_has_no_alembic_plugin_lines(tmp_path):
    """What `hotline serve` prints while migrating: alembic's 'setup plugin' INFO lines are gone."""
    import subprocess
    import sys

    code = ("from infra.logs import setup_logging; setup_logging('INFO'); from hotline.schema import upgrade_sync; "
            f"upgrade_sync('sqlite+aiosqlite:///{tmp_path / 'h.db'}')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Running upgrade" in run.stderr  # the migration lines worth reading stay
    assert "setup plugin" not in run.stderr
