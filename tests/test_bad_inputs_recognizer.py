"""Bad inputs of the recognizer area through the real CLI: one `error:` line and exit 2."""

import pytest

from jersey_edge.data.discovery import discover
from tests.runtime.test_recognizer_hardening import POISONS, poisoned_copy
from tests.test_bad_inputs import assert_one_line_error, cli


@pytest.mark.parametrize("case", sorted(POISONS))
@pytest.mark.parametrize("as_json", [False, True])
def test_a_model_with_non_finite_outputs_is_refused(exported, tmp_path, capsys, case,
                                                    as_json):
    part, value, only = POISONS[case]
    artifacts = poisoned_copy(exported.out, tmp_path / "artifacts", part, value, only=only)
    folder = discover(exported.data_root).records[0].frames[0].parent
    args = ["predict", str(folder), "--artifacts", str(artifacts), "--backend", "onnxruntime"]
    code, out, err = cli(capsys, *args, *(["--json"] if as_json else []))
    assert_one_line_error(code, err)
    assert "non-finite" in err and out == ""
