"""An insider with write access to the state database, against the journal: deleting its last
rows (or all of them), or editing an entry and recomputing every hash after it. A head kept
outside the database (`ENTRIES:HASH`, printed by every run summary, appended to a head file)
catches truncation and rewriting; a key from the environment (HMAC chain) catches a rewrite even
without a head. Stores from before the key keep verifying, and say what they cannot prove."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from itsm_bridge.store.base import JournalEntry
from itsm_bridge.store.chain import GENESIS, content, link_hash
from tests.integration.test_crash_safety import cli, new_sandbox, start

KEY = "journal-key-canary-0123456789"


def seed_few(sb, n: int = 3) -> None:
    ci = sb.servicenow.add_reference("cmdb_ci", "VPN")
    for i in range(n):
        sb.servicenow.insert_incident(
            {
                "short_description": f"VPN slow {i}",
                "category": "network",
                "cmdb_ci": ci,
                "impact": "2",
                "urgency": "2",
                "state": "2",
            }
        )


def keyed(cfg: Path, head_file: str | None = None) -> None:
    extra = 'journal_key_env = "ITSM_BRIDGE_JOURNAL_KEY"\n' + (
        f'journal_head_file = "{head_file}"\n' if head_file else ""
    )
    text = cfg.read_text()
    assert "\n[state]\n" in text
    cfg.write_text(text.replace("\n[state]\n", "\n[state]\n" + extra, 1))


def db(cfg: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(cfg).replace(".toml", ".sqlite"), isolation_level=None)


def rewrite_and_rechain(cfg: Path, seq: int) -> None:
    """Edit entry `seq`'s payload, then recompute every hash from it on as plain SHA-256 (all an
    insider without the key can do)."""
    con = db(cfg)
    con.row_factory = sqlite3.Row
    rows = list(con.execute("SELECT * FROM journal ORDER BY seq"))
    prev = GENESIS
    for r in rows:
        payload = json.loads(r["payload"])
        if r["seq"] == seq:
            payload["forged"] = True
        e = JournalEntry(
            r["seq"],
            r["run_id"],
            r["at"],
            r["kind"],
            r["key"],
            r["platform"],
            r["ref"],
            r["action"],
            payload,
            prev,
            "",
            r["intent_seq"],
        )
        digest = link_hash(prev, content(e)) if r["seq"] >= seq else r["hash"]
        con.execute(
            "UPDATE journal SET payload = ?, prev_hash = ?, hash = ?, chain = CASE WHEN seq >= ? THEN 'sha256' "
            "ELSE chain END WHERE seq = ?",
            (json.dumps(payload, sort_keys=True, separators=(",", ":")), prev, digest, seq, r["seq"]),
        )
        prev = digest
    con.close()


def verify(cfg: Path, env: dict[str, str], *args: str) -> tuple[int, dict]:
    r = cli(cfg, env, "--json", "journal", "verify", *args)
    return r.returncode, json.loads(r.stdout)


def test_every_run_summary_carries_the_head_and_verify_against_it_finds_truncation(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed_few(sb)
        cfg, env = start(tmp_path, sb)
        text_run = cli(cfg, env, "sync")
        assert text_run.returncode == 0, text_run.stderr
        json_run = cli(cfg, env, "--json", "sync")
        head = json.loads(json_run.stdout)["journal_head"]
        assert f"journal head {head['entries'] - 1}:" in text_run.stdout  # the text run, one entry before
        code, ok = verify(cfg, env, "--head", head["head"])
        assert code == 0 and ok["head"] == head, ok
        entries = head["entries"]

        db(cfg).execute("DELETE FROM journal WHERE seq >= ?", (entries - 1,))  # the last two rows
        code, plain = verify(cfg, env)
        assert code == 0 and any("cannot be detected" in n for n in plain["notes"])  # said plainly
        code, found = verify(cfg, env, "--head", head["head"])
        assert code == 1 and any("truncated" in p for p in found["problems"]), found

        db(cfg).execute("DELETE FROM journal")
        code, found = verify(cfg, env, "--head", head["head"])
        assert code == 1 and any(f"entries 1..{entries} were removed" in p for p in found["problems"]), found


def test_a_rechained_rewrite_passes_a_plain_chain_but_not_its_head(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed_few(sb)
        cfg, env = start(tmp_path, sb)
        head = json.loads(cli(cfg, env, "--json", "sync").stdout)["journal_head"]["head"]
        rewrite_and_rechain(cfg, 2)
        code, plain = verify(cfg, env)
        assert code == 0 and any("no journal key" in n for n in plain["notes"]), plain  # what it cannot prove
        code, found = verify(cfg, env, "--head", head)
        assert code == 1 and any("was rewritten" in p for p in found["problems"]), found


def test_with_a_key_a_rechained_rewrite_fails_without_any_head_and_the_key_shows_nowhere(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed_few(sb)
        cfg, env = start(tmp_path, sb)
        keyed(cfg, head_file="heads.log")
        env = {**env, "ITSM_BRIDGE_JOURNAL_KEY": KEY}
        runs = [cli(cfg, env, "-vv", "sync"), cli(cfg, env, "-vv", "--log-format", "json", "--json", "sync")]
        assert all(r.returncode == 0 for r in runs), runs[0].stderr
        heads = (tmp_path / "heads.log").read_text().splitlines()
        assert len(heads) == 2 and heads[-1].endswith(json.loads(runs[1].stdout)["journal_head"]["head"])
        code, ok = verify(cfg, env, "--head", str(tmp_path / "heads.log"))
        assert code == 0 and ok["plain"] == 0 and ok["keyed"] == ok["entries"], ok
        shown = "".join(r.stdout + r.stderr for r in runs) + cli(cfg, env, "journal", "show").stdout
        assert KEY not in shown

        rewrite_and_rechain(cfg, 3)
        code, found = verify(cfg, env)
        assert code == 1 and any("entry 3 is not keyed" in p for p in found["problems"]), found

        unkeyed = cli(cfg, {k: v for k, v in env.items() if k != "ITSM_BRIDGE_JOURNAL_KEY"}, "sync")
        assert unkeyed.returncode == 2 and "journal_key_env" in unkeyed.stderr, unkeyed.stderr


def test_with_a_key_an_edit_that_keeps_the_hmac_label_fails(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed_few(sb)
        cfg, env = start(tmp_path, sb)
        keyed(cfg)
        env = {**env, "ITSM_BRIDGE_JOURNAL_KEY": KEY}
        assert cli(cfg, env, "sync").returncode == 0
        db(cfg).execute("UPDATE journal SET payload = json_set(payload, '$.forged', 1) WHERE seq = 2")
        code, found = verify(cfg, env)
        assert code == 1 and any("entry 2 was changed" in p for p in found["problems"]), found
        code, blind = verify(cfg, {k: v for k, v in env.items() if k != "ITSM_BRIDGE_JOURNAL_KEY"})
        assert any("content could not be" in n for n in blind["notes"]), blind  # says what it cannot check


def test_a_store_from_before_the_key_keeps_verifying_and_says_which_entries_are_plain(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed_few(sb)
        cfg, env = start(tmp_path, sb)
        before = json.loads(cli(cfg, env, "--json", "sync").stdout)["journal_head"]
        db(cfg).execute("UPDATE journal SET chain = NULL")  # as a store from before the chain column
        keyed(cfg)
        env = {**env, "ITSM_BRIDGE_JOURNAL_KEY": KEY}
        sb.servicenow.insert_incident(
            {"short_description": "Mail down", "category": "network", "impact": "2", "urgency": "2", "state": "1"}
        )
        assert cli(cfg, env, "sync").returncode in (0, 1)
        code, found = verify(cfg, env, "--head", before["head"])
        assert code == 0, found
        assert found["plain"] == before["entries"] and found["keyed"] > 0
        assert any(f"{before['entries']} entries were written before the journal key" in n for n in found["notes"])
