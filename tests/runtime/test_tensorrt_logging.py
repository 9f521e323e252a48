"""One TensorRT logger per process, errors per object (compat.process_logger,
make_error_recorder).

TensorRT is not installed here: a stand-in module supplies the two base classes, so these
tests exercise this package's logic (one logger, bounded thread-safe recorders), not
TensorRT's. That the real bindings have these classes and attributes is what the mypy check
against tensorrt-stubs (test_tensorrt_typecheck.py) holds."""

import enum
import logging
import sys
import threading
import types

import pytest

from jersey_edge.runtime.backends.tensorrt import compat


class _Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class _ILogger:
    Severity = _Severity
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = tuple(_Severity)

    def __init__(self) -> None:
        pass


class _IErrorRecorder:
    def __init__(self) -> None:
        pass


@pytest.fixture
def stand_in(monkeypatch):
    module = types.ModuleType("tensorrt")
    module.ILogger = _ILogger
    module.IErrorRecorder = _IErrorRecorder
    module.ErrorCodeTRT = enum.IntEnum("ErrorCodeTRT", "SUCCESS INVALID_ARGUMENT")
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    monkeypatch.setattr(compat, "_LOGGER", None)
    return module


def test_every_caller_gets_the_same_logger_even_from_many_threads(stand_in):
    found = []
    threads = [threading.Thread(target=lambda: found.append(compat.process_logger()))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(logger) for logger in found}) == 1
    assert compat.process_logger() is found[0]


def test_the_logger_forwards_to_python_logging(stand_in, caplog):
    with caplog.at_level(logging.DEBUG, logger="jersey_edge.tensorrt"):
        compat.process_logger().log(_Severity.WARNING, "slow tactic")
    assert caplog.records[-1].levelno == logging.WARNING
    assert caplog.records[-1].getMessage() == "TensorRT: slow tactic"


def test_each_recorder_keeps_its_own_bounded_errors(stand_in, caplog):
    first, second = compat.make_error_recorder(), compat.make_error_recorder()
    code = stand_in.ErrorCodeTRT.INVALID_ARGUMENT
    for i in range(compat.MAX_RECORDED_ERRORS + 5):
        assert first.report_error(code, f"bad {i}") is False  # never fatal by itself
    assert second.num_errors() == 0 and not second.has_overflowed()
    assert first.num_errors() == compat.MAX_RECORDED_ERRORS and first.has_overflowed()
    assert first.messages()[-1] == f"bad {compat.MAX_RECORDED_ERRORS + 4}"
    assert first.get_error_code(0) == code and first.get_error_desc(0) == "bad 5"
    first.clear()
    assert first.num_errors() == 0 and not first.has_overflowed()
