"""Running the workflow from the tests: the smoke config under a temporary results_dir, through
the Snakemake API as a user's `snakemake --cores N` would."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(configfile: Path, dryrun: bool = False, cores: int = 2) -> None:
    """Run the workflow through the Snakemake Python API, as a user's `snakemake --cores N` would."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        ExecutionSettings,
        OutputSettings,
        ResourceSettings,
    )

    with SnakemakeApi(OutputSettings(show_failed_logs=True)) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=cores),
            config_settings=ConfigSettings(configfiles=[configfile]),
            snakefile=ROOT / "Snakefile",
            workdir=ROOT,
        )
        dag = wf.dag(DAGSettings())
        dag.execute_workflow(executor="dryrun" if dryrun else "local",
                             execution_settings=ExecutionSettings(latency_wait=5))


def smoke_config(tmp: Path, name: str = "smoke.yaml", **changes) -> Path:
    """configs/smoke.yaml with results under `tmp`; `changes` update its sections (or set a key)."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg["results_dir"] = str(tmp / "results")
    for section, values in changes.items():
        if isinstance(values, dict):
            cfg[section].update(values)
        else:
            cfg[section] = values
    path = tmp / name
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path
