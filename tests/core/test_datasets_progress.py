"""Every phase of ``fdif generate`` reports progress, so a job is never silent for long.

The bound on the gap between two events: a waiting phase sends a heartbeat every
``HEARTBEAT_S`` (1 s), noticed within one ``POLL_S`` (0.2 s) of waiting; everything else
between two events is one short blocking step (one tiny sample, one file read). A second of
slack covers scheduling on a loaded 2-core machine.
"""

from __future__ import annotations

import json
import time

import fdif_core.datasets.card as card_mod
from fdif_core.datasets.generate import GenerateConfig, generate
from fdif_core.datasets.producer import SampleMaker
from fdif_core.datasets.progress import HEARTBEAT_S, POLL_S
from tests.core.datasets_util import run_cli, tiny_preset

PHASES = ["prepare", "generate", "write", "card"]
MAX_GAP_S = HEARTBEAT_S + POLL_S + 1.0


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _phase_runs(progress: list[dict]) -> list[str]:
    """The phases in the order they appear, each once per run of consecutive events."""
    phases = [e["phase"] for e in progress]
    return [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]


def test_json_stream_has_every_phase_in_order_and_no_long_silence(tmp_path, capsys):
    preset = tiny_preset(tmp_path, num=6, val=2)
    out = tmp_path / "out"
    # two spawned workers: their start-up (seconds) is the longest wait of a small job
    assert run_cli("--preset", str(preset), "--out", str(out), "--workers", "2", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "done"
    progress = [e for e in events if e["event"] == "progress"]
    assert _phase_runs(progress) == PHASES
    for phase in PHASES:
        last = [e for e in progress if e["phase"] == phase][-1]
        assert last["done"] == last["total"] > 0, last
        assert last["unit"] == ("files" if phase == "card" else "samples")
    counts = [e["done"] for e in progress if e["phase"] == "generate"]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 8
    gaps = _gaps([e["time"] for e in events])
    assert max(gaps) <= MAX_GAP_S, (max(gaps), events)


def test_waiting_for_a_slow_sample_sends_heartbeats(tmp_path, monkeypatch):
    preset = tiny_preset(tmp_path, num=3, val=0)
    real = SampleMaker.compute_many

    def slow(self, indices):
        if indices == [0]:
            time.sleep(2.6)
        return real(self, indices)

    monkeypatch.setattr(SampleMaker, "compute_many", slow)
    events = list(generate(GenerateConfig(preset=str(preset), out=tmp_path / "out",
                                          workers=1)))
    waiting = [e for e in events if e.type == "progress" and e.data["phase"] == "generate"
               and e.data["done"] == 0]
    assert len(waiting) >= 3  # the phase's first event, then a heartbeat every second
    assert max(_gaps([e.time for e in events])) <= HEARTBEAT_S + POLL_S + 0.5


def test_the_card_phase_reports_while_it_reads(tmp_path, monkeypatch):
    preset = tiny_preset(tmp_path, num=4, val=0)
    real = card_mod.read_volume

    def slow(path):
        time.sleep(0.4)
        return real(path)

    monkeypatch.setattr(card_mod, "read_volume", slow)
    events = list(generate(GenerateConfig(preset=str(preset), out=tmp_path / "out",
                                          workers=1)))
    card = [e for e in events if e.type == "progress" and e.data["phase"] == "card"]
    done = [e.data["done"] for e in card]
    # 4 statistics files, then 4 preview samples (images and labels) read in 8 × 0.4 s
    assert done[0] == 0 and done[-1] == card[0].data["total"] == 8
    assert len(card) >= 4 and done == sorted(done)
    assert max(_gaps([e.time for e in card])) <= HEARTBEAT_S + 2 * 0.4 + 0.5
