"""`stepwise data get`: a sparse git checkout of `datasets/TASK`, checksums, the layout `task(...)`
expects, and the errors (git missing, fetch failure, checksum mismatch, unknown task).

Every test fetches from a local git repository that the test builds with the upstream layout
(`datasets/svamp/svamp_train.json`, `datasets/svamp/llm/...`), so none needs the network. The
first copies the real SVAMP files from ../shared/datasets and checks them against the built-in
table; the others use small made-up files and a `--checksums` file of their own.
"""
import hashlib
import os
import pathlib
import subprocess
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("STEPWISE_DATA", ROOT.parent / "shared" / "datasets"))
TASKS = ["svamp", "cqa", "anli1", "esnli"]


def git(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def make_repository(tmp_path, files):
    """A bare repository (as a file:// URL) whose one commit holds `files` {path: bytes}."""
    work = tmp_path / "upstream-work"
    for path, data in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git("init", "-q", "-b", "main", str(work))
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "datasets", cwd=work)
    bare = tmp_path / "upstream.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    return bare.as_uri()


def small_release():
    """A few made-up files per task, in upstream's layout."""
    files = {"README.md": b"not a dataset\n"}
    for task in TASKS:
        files[f"datasets/{task}/{task}_test.json"] = f'{{"input": "{task} example"}}\n'.encode()
        files[f"datasets/{task}/llm/test_CoT_0.json"] = f'["{task} rationale"]'.encode()
    return files


def checksum_file(tmp_path, files, skip=()):
    lines = []
    for path, data in sorted(files.items()):
        if path.startswith("datasets/") and path not in skip:
            lines.append(f"{hashlib.sha256(data).hexdigest()}  {path[len('datasets/'):]}")
    target = tmp_path / "checksums.txt"
    target.write_text("# made by the test\n" + "\n".join(lines) + "\n")
    return str(target)


def data_get(binary, *args, env=None):
    return subprocess.run([binary, "data", "get", *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.skipif(not (SHARED / "svamp" / "svamp_train.json").is_file(), reason=f"no datasets at {SHARED}")
def test_svamp_verifies_against_the_built_in_table_and_loads(stepwise_bin, tmp_path):
    files = {f"datasets/svamp/{p.relative_to(SHARED / 'svamp')}": p.read_bytes()
             for p in (SHARED / "svamp").rglob("*") if p.is_file()}
    files["datasets/svamp/NOTES.txt"] = b"a file upstream has and the table does not\n"
    files["datasets/cqa/cqa_test.json"] = b"{}\n"   # another task: must not be fetched
    url = make_repository(tmp_path, files)
    out = tmp_path / "data"
    r = data_get(stepwise_bin, "svamp", "--to", str(out), "--repo", url)
    assert r.returncode == 0, r.stderr
    assert "svamp: 7 files, 6 verified, 1 unverified" in r.stdout
    assert "unverified (not in the checksum table): svamp/NOTES.txt" in r.stdout
    for name in ("svamp_train.json", "svamp_test.json", "SVAMP.json", "llm/train_CoT_0.json", "llm/test_CoT_0.json"):
        assert (out / "svamp" / name).read_bytes() == (SHARED / "svamp" / name).read_bytes(), name
    assert not (out / "cqa").exists()
    # The layout is the one `task(...)` and --data read: the released teacher's test accuracy.
    score = subprocess.run([stepwise_bin, "score", "--task", "svamp", "--data", str(out / "svamp"), "--split", "test"],
                           capture_output=True, text=True, timeout=120)
    assert score.returncode == 0, score.stderr
    assert "accuracy=0.7400" in score.stdout


def test_all_tasks_with_a_checksum_file(stepwise_bin, tmp_path):
    files = small_release()
    url = make_repository(tmp_path, files)
    out = tmp_path / "data"
    r = data_get(stepwise_bin, "all", "--to", str(out), "--repo", url, "--checksums", checksum_file(tmp_path, files))
    assert r.returncode == 0, r.stderr
    for task in TASKS:
        assert f"{task}: 2 files, 2 verified, 0 unverified -> {out / task}" in r.stdout
        assert (out / task / "llm" / "test_CoT_0.json").read_bytes() == files[f"datasets/{task}/llm/test_CoT_0.json"]
    assert not (out / "README.md").exists()
    # Again, into the same folder: files are replaced, and the result is the same.
    again = data_get(stepwise_bin, "svamp", "--to", str(out), "--repo", url, "--checksums", checksum_file(tmp_path, files))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (out / "svamp").rglob("*")) == ["llm", "svamp_test.json", "test_CoT_0.json"]


def test_checksum_mismatch_names_the_file_and_writes_nothing(stepwise_bin, tmp_path):
    files = small_release()
    sums = checksum_file(tmp_path, files)
    files["datasets/svamp/svamp_test.json"] = b'{"input": "tampered"}\n'
    url = make_repository(tmp_path, files)
    out = tmp_path / "data"
    r = data_get(stepwise_bin, "cqa", "svamp", "--to", str(out), "--repo", url, "--checksums", sums)
    assert r.returncode != 0
    expected = hashlib.sha256(b'{"input": "svamp example"}\n').hexdigest()
    got = hashlib.sha256(b'{"input": "tampered"}\n').hexdigest()
    assert f"checksum mismatch for svamp/svamp_test.json: expected {expected}, got {got}" in r.stderr
    assert not out.exists() or not any(out.rglob("*.json"))


def test_a_known_file_missing_upstream_is_an_error(stepwise_bin, tmp_path):
    files = small_release()
    sums = checksum_file(tmp_path, files)
    del files["datasets/anli1/llm/test_CoT_0.json"]
    url = make_repository(tmp_path, files)
    r = data_get(stepwise_bin, "anli1", "--to", str(tmp_path / "data"), "--repo", url, "--checksums", sums)
    assert r.returncode != 0
    assert f"{url} lacks anli1/llm/test_CoT_0.json" in r.stderr


def test_unknown_task_lists_the_known_ones(stepwise_bin, tmp_path):
    r = data_get(stepwise_bin, "gsm8k", "--to", str(tmp_path))
    assert r.returncode != 0
    assert 'unknown task "gsm8k": known tasks are svamp, cqa, anli1, esnli, or all' in r.stderr


def test_task_absent_from_the_repository(stepwise_bin, tmp_path):
    files = {k: v for k, v in small_release().items() if not k.startswith("datasets/esnli/")}
    url = make_repository(tmp_path, files)
    r = data_get(stepwise_bin, "esnli", "--to", str(tmp_path / "data"), "--repo", url)
    assert r.returncode != 0
    assert f"{url} has no datasets/esnli folder" in r.stderr


def test_fetch_failure_names_the_url(stepwise_bin, tmp_path):
    url = "http://127.0.0.1:9/nobody/distilling-step-by-step"   # port 9: nothing listens
    r = data_get(stepwise_bin, "svamp", "--to", str(tmp_path / "data"), "--repo", url)
    assert r.returncode != 0
    assert f"cannot fetch {url} (git clone failed)" in r.stderr


def test_git_missing(stepwise_bin, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    r = data_get(stepwise_bin, "svamp", "--to", str(tmp_path / "data"), env=dict(os.environ, PATH=str(empty)))
    assert r.returncode != 0
    assert "git is not installed or not on PATH" in r.stderr


def test_a_release_zipped_at_the_top_is_unpacked(stepwise_bin, tmp_path):
    inner = {k: v for k, v in small_release().items() if k.startswith("datasets/")}
    archive = tmp_path / "datasets.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path, data in inner.items():
            z.writestr(path, data)
    url = make_repository(tmp_path, {"README.md": b"unzip datasets.zip\n", "datasets.zip": archive.read_bytes()})
    out = tmp_path / "data"
    r = data_get(stepwise_bin, "svamp", "--to", str(out), "--repo", url, "--checksums", checksum_file(tmp_path, inner))
    assert r.returncode == 0, r.stderr
    assert "svamp: 2 files, 2 verified, 0 unverified" in r.stdout
    assert (out / "svamp" / "svamp_test.json").read_bytes() == inner["datasets/svamp/svamp_test.json"]
