"""The manifest: sha256 and size of every result file, and nothing from logs/, benchmarks/ or
checkpoints/."""

import hashlib

from langadapt.eval.manifest import read_manifest, result_files, write_manifest


def test_manifest_hashes_every_result_file_and_leaves_out_timings_and_logs(tmp_path):
    files = {"cpt/bpe/mean/model.safetensors": b"weights", "report/summary.csv": b"a,b\n",
             "eval/logs/x.json": b"{}",  # a folder named logs below the top is a result
             "logs/pretrain.log": b"log", "benchmarks/pretrain.tsv": b"s\n1.0",
             "checkpoints/pretrain/bpe/mean/checkpoint-10/optimizer.pt": b"opt",
             "cpt/bpe/mean/.snakemake_timestamp": b""}
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    digests = write_manifest(tmp_path, tmp_path / "report" / "manifest.tsv")
    expected = ["cpt/bpe/mean/model.safetensors", "eval/logs/x.json", "report/summary.csv"]
    assert sorted(digests) == expected
    assert read_manifest(tmp_path / "report" / "manifest.tsv") == {
        f: hashlib.sha256(files[f]).hexdigest() for f in expected}
    # the manifest itself is a result file for the next one, but never of its own
    assert "report/manifest.tsv" in result_files(tmp_path)
    assert "report/manifest.tsv" not in write_manifest(tmp_path, tmp_path / "report" / "manifest.tsv")
