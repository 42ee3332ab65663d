"""nbclient runs notebooks/quickstart.ipynb end to end on the Stepwise kernel."""
import pathlib

import nbformat
from nbclient import NotebookClient

from notebook_outputs import outputs_of, text_of

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quickstart_runs_end_to_end(stepwise_bin):
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name="stepwise", timeout=120,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()

    assert "Hello from Stepwise" in text_of(outputs_of(nb, 'print("Hello'))
    result = outputs_of(nb, "let xs")[0]
    assert result.output_type == "execute_result" and result.data["text/plain"] == "[1, 4, 9, 16]"
    assert outputs_of(nb, "func accuracy")[0].data["text/plain"] == "0.66"
    assert "<table>" in outputs_of(nb, "table(")[0].data["text/html"]
    assert outputs_of(nb, "display(html")[0].data["text/html"].startswith("<b>Rationales</b>")
    # The live display ends showing its last update.
    progress = outputs_of(nb, 'display("step 0')
    assert [o.data["text/plain"] for o in progress if o.output_type == "display_data"] == ["step 3 of 3"]
    assert "stderr" in text_of(outputs_of(nb, "eprint"), name="stderr")
    assert "Wall time" in text_of(outputs_of(nb, "%time"))
    assert "squares" in text_of(outputs_of(nb, "%who"))
    error = outputs_of(nb, "let rate")[0]
    assert error.output_type == "error" and error.ename == "NameError"
    assert any("line 2" in line for line in error.traceback)
    assert "rate = 0.5" in text_of(outputs_of(nb, 'print("still running'))
    # The offline distillation section: a task table, a rationale table with answers highlighted,
    # a live training display that ends done, a loss plot and an evaluation.
    assert "<b>Task synthetic</b>" in outputs_of(nb, "let arith")[0].data["text/html"]
    rationales = outputs_of(nb, "let teacher")
    table = [o for o in rationales if o.output_type == "execute_result"][0]
    assert table.data["text/plain"].startswith("5 rationales from program teacher")
    assert "<mark>" in table.data["text/html"]
    assert float(outputs_of(nb, "why.accuracy")[0].data["text/plain"]) > 0.8
    training = [o for o in outputs_of(nb, "let kept") if o.output_type == "display_data"]
    assert training[-1].data["text/plain"].startswith("train (step-by-step): step 16/16")
    assert training[-1].data["text/plain"].endswith("done")
    assert "<svg" in outputs_of(nb, "run.plot()")[0].data["image/svg+xml"]
    evaluation = [o for o in outputs_of(nb, "evaluate(student") if o.output_type == "execute_result"][0]
    assert evaluation.data["text/plain"].startswith("Evaluation on 20 synthetic examples: accuracy ")
    # Counts run 1, 2, 3... over the code cells.
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
