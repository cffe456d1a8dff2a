"""The local server: credentials kept secret, idempotent serve, stop, restart; the config it accepts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from newscorpus.cli import main
from newscorpus.corpus import CorpusLayout
from newscorpus.errors import NewscorpusError
from newscorpus.schemas import entity_labels
from newscorpus.studio import config as cfg
from newscorpus.studio import server
from newscorpus.studio.sync import pull, push

from .helpers import article, snapshot, tricky_gold, write_gold, TRICKY_BODY


def test_config_is_generated_from_the_schema():
    xml = cfg.labeling_config()
    for label in entity_labels():
        assert f'<Label value="{label}"' in xml
    for quote_type in cfg.quote_types():
        assert f'<Choice value="{quote_type}"' in xml
    for kind in cfg.mention_kinds():
        assert f'<Choice value="{kind}"' in xml
    for relation in cfg.RELATION_LABELS:
        assert f'<Relation value="{relation}"' in xml
    assert '<Text name="text" value="$text"' in xml and "HyperText" not in xml
    assert ".lsf-richtext__line{white-space:pre-wrap}</Style>" in xml and ".htx-text" in xml
    assert cfg.quote_types() == ("direct", "indirect", "mixed")


@pytest.mark.studio
def test_the_server_accepts_the_config(label_studio, project_title):
    studio = label_studio.studio()
    project = studio.ensure_project(project_title)
    assert studio.find_project(project_title)["label_config"] == cfg.labeling_config()
    studio.call("validate config", studio.sdk.projects.validate_label_config, project["id"], label_config=cfg.labeling_config())
    with pytest.raises(NewscorpusError, match="answered 400"):
        broken = cfg.labeling_config().replace('toName="text"', 'toName="body"', 1)
        studio.call("validate config", studio.sdk.projects.validate_label_config, project["id"], label_config=broken)


@pytest.mark.studio
def test_credentials_are_private_and_never_in_argv_or_logs(label_studio):
    directory = label_studio.directory
    assert stat.S_IMODE((directory / "credentials.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    pid = server.status(directory).pid
    argv = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert label_studio.token.encode() not in argv and b"127.0.0.1" in argv
    assert label_studio.token.encode() not in (directory / "server.log").read_bytes()


@pytest.mark.studio
def test_sign_up_without_an_invitation_is_refused(label_studio):
    import requests

    session = requests.Session()
    session.get(f"{label_studio.url}/user/signup/", timeout=30)
    answer = session.post(
        f"{label_studio.url}/user/signup/", allow_redirects=False, timeout=30,
        data={"email": "intruder@example.org", "password": "intruder-pass-123",
              "csrfmiddlewaretoken": session.cookies.get("csrftoken")},
        headers={"Referer": f"{label_studio.url}/user/signup/"},
    )
    assert answer.status_code == 403
    emails = [u.email for u in label_studio.studio().sdk.users.list()]
    assert "intruder@example.org" not in emails


@pytest.mark.studio
def test_serve_is_idempotent_and_prints_how_to_log_in(label_studio, capsys):
    corpus = label_studio.directory.parent / "corpus"
    assert main(["studio", "--corpus", str(corpus), "serve"]) == 0
    out = capsys.readouterr().out
    assert f"already running at {label_studio.url}" in out and label_studio.username in out
    assert label_studio.token not in out
    assert main(["studio", "--corpus", str(corpus), "status"]) == 0
    assert "answers /health" in capsys.readouterr().out


@pytest.mark.studio
def test_a_credentials_file_others_can_read_is_refused(tmp_path):
    directory = tmp_path / ".studio"
    server.Credentials.load_or_create(directory)
    os.chmod(directory / "credentials.json", 0o644)
    with pytest.raises(NewscorpusError, match="chmod 600"):
        server.endpoint(directory)


@pytest.mark.studio
def test_stopped_server_fails_cleanly_then_restarts(label_studio, tmp_path, project_title, capsys):
    """Stop the real server: pull fails with nothing changed; serve brings it back with the same data."""
    layout = CorpusLayout(tmp_path / "corpus")
    write_gold(layout, tricky_gold("a1"))
    state = tmp_path / ".studio"
    push(layout, {"a1": article("a1", TRICKY_BODY)}, label_studio.studio(), state, title=project_title)
    corpus = label_studio.directory.parent / "corpus"

    assert main(["studio", "--corpus", str(corpus), "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["studio", "--corpus", str(corpus), "status"]) == 1
    before = snapshot(tmp_path)
    with pytest.raises(NewscorpusError, match="cannot reach Label Studio .*newscorpus studio serve"):
        pull(layout, label_studio.studio(attempts=2), state, title=project_title)
    assert snapshot(tmp_path) == before

    port = int(label_studio.url.rsplit(":", 1)[1])
    assert main(["studio", "--corpus", str(corpus), "serve", "--port", str(port)]) == 0
    assert f"started at {label_studio.url}" in capsys.readouterr().out
    report = pull(layout, label_studio.studio(), state, title=project_title)
    assert (report.problems, report.changes) == ([], [])
