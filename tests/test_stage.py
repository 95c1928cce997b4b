"""The stage runner's sweep: a job removes the temporary siblings that a killed earlier run of it
left beside its outputs (`.name.XXXXXXXX` directories of atomic_dir, `.name.tmp` files of the
atomic file writers), and nothing else."""

from __future__ import annotations

from langadapt.core.io import atomic_file, atomic_dir, stale_siblings
from langadapt.core.stage import stage


def test_a_stage_sweeps_exactly_the_temporary_siblings_of_its_outputs(tmp_path):
    lep, ev = tmp_path / "lep", tmp_path / "eval"
    outputs = [lep / "conversion", ev / "m.json"]
    stale = [lep / ".conversion.abc_1234", ev / ".m.json.tmp"]
    (stale[0] / "trainer").mkdir(parents=True)
    (stale[0] / "trainer" / "x.bin").write_bytes(b"0" * 10)
    ev.mkdir()
    stale[1].write_text("{")
    # other names: another output's temporaries, other suffixes, a neighbour with a longer name
    keep = [lep / ".conversion.old", lep / ".conversions.abcd1234", lep / "swap", ev / ".m.json.bak",
            ev / ".other.json.tmp", ev / "m.json.tmp"]
    for k in keep:
        k.write_text("")
    assert sorted(p for o in outputs for p in stale_siblings(o)) == sorted(stale)

    log = tmp_path / "logs" / "job" / "x.log"
    with stage(str(log), outputs=outputs):
        pass
    assert not any(p.exists() for p in stale)
    assert all(k.exists() for k in keep)
    assert all(f"removed {p}" in log.read_text() for p in stale)


def test_the_atomic_writers_leave_names_the_sweep_recognises(tmp_path):
    """Caught mid-write, the directory of atomic_dir and the temp file of the file writers are
    both stale siblings of their outputs (the sweep's pattern is the writers' own)."""
    out = tmp_path / "model"
    with atomic_dir(out) as tmp:
        assert stale_siblings(out) == [tmp]
    assert stale_siblings(out) == []
    with atomic_file(tmp_path / "r.json") as tmp:
        tmp.write_text("{")
        assert stale_siblings(tmp_path / "r.json") == [tmp]
    assert stale_siblings(tmp_path / "r.json") == []
