"""The Jupyter project's own kernel test suite (jupyter_kernel_test), with every sample set."""
import unittest

import jupyter_kernel_test


class StepwiseKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "stepwise"
    language_name = "stepwise"
    file_extension = ".sw"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'eprint("something went wrong")'

    completion_samples = [
        {"text": "pri", "matches": {"print"}},
        {"text": "eprin", "matches": {"eprint"}},
        {"text": "let zebra_count = 1\nzebra_c"},
    ]
    complete_code_samples = ["1 + 1", 'print("hi")', "let x = 3"]
    incomplete_code_samples = ["print(", "let f = [1, 2,", "(1 +", "func f() {"]
    invalid_code_samples = ["1 + )", "let = 3", "}"]

    code_page_something = "%help print"
    code_generate_error = "no_such_name_anywhere"

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "6 * 7", "result": "42"},
    ]
    code_display_data = [
        {"code": 'display(html("<b>hi</b>"))', "mime": "text/html"},
        {"code": 'display("plain")', "mime": "text/plain"},
    ]

    code_history_pattern = "1 + *"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "print"
    code_clear_output = "clearOutput(wait: false)"


if __name__ == "__main__":
    unittest.main()
