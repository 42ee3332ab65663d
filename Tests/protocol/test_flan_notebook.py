"""nbclient runs notebooks/flan-mixture.ipynb in fast mode (small parameters) on the Stepwise kernel."""
import json
import pathlib

import nbformat
from nbclient import NotebookClient

from notebook_outputs import outputs_of, result_of

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_flan_notebook_runs_in_fast_mode(stepwise_bin):
    nb = nbformat.read(ROOT / "notebooks" / "flan-mixture.ipynb", as_version=4)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = "let steps = 6\nlet perTask = 24\nlet heldOutExamples = 6"
    client = NotebookClient(nb, kernel_name="stepwise", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()

    names = json.loads(result_of(nb, "let w = instructionWorld").data["text/plain"])
    assert names == [["reverse", "sort", "first", "last", "largest", "count", "add", "is-even"],
                     ["contains-word", "is-sorted", "has-duplicates"]]
    assert result_of(nb, "templates(w.tuning[0])").data["text/plain"].startswith("reverse (cluster order): 7 templates, 1 turned around")
    assert "OPTIONS:\n- yes\n- no" in result_of(nb, "let held").data["text/html"]
    assert json.loads(result_of(nb, "w.tasks.map").data["text/plain"]) == [0] * 11
    assert result_of(nb, "let mix").data["text/plain"].startswith("Mixture of 8 streams, 192 pairs, cap 3,000")
    refused = [o for o in outputs_of(nb, "// Tuning on a held-out task") if o.output_type == "error"]
    assert refused and "task 'contains-word' belongs to the held-out cluster 'yes-no'" in refused[0].evalue
    assert 0 <= float(result_of(nb, "%threads 2").data["text/plain"]) <= 1
    after = result_of(nb, "let after").data["text/plain"]
    assert "mean over 18 templates" in after
    final = json.loads(result_of(nb, "let plain").data["text/plain"])
    assert len(final) == 3 and all(0 <= x <= 1 for x in final)
