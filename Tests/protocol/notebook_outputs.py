"""Reading an executed notebook's outputs by the code cell they came from (nbclient tests)."""


def outputs_of(nb, source_start):
    """The outputs of the first code cell whose source starts with `source_start`."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(source_start):
            return cell.outputs
    raise AssertionError(f"no cell starts with {source_start!r}")


def text_of(outputs, output_type="stream", name="stdout"):
    """The text of a cell's stream outputs of one kind."""
    return "".join(o.get("text", "") for o in outputs if o.output_type == output_type and o.get("name") == name)


def result_of(nb, source_start):
    """The last execute_result of the cell whose source starts with `source_start`."""
    results = [o for o in outputs_of(nb, source_start) if o.output_type == "execute_result"]
    assert results, f"no result for {source_start!r}"
    return results[-1]
