"""Typed errors shared by the whole package.

They live in `core`, which every side (training, export, bench, runtime) imports and which
imports nothing heavier than the standard library. The CLI turns any of them into one line on
stderr and exit code 2, so every message should say what went wrong *and* what to do.
"""


class JerseyEdgeError(Exception):
    """Base class of every error this package raises on purpose."""


class DatasetError(JerseyEdgeError):
    """The dataset folder is missing, empty or unusable."""


class InputError(JerseyEdgeError):
    """A frame, sequence, array or option given by the user is invalid."""


class CheckpointError(JerseyEdgeError):
    """A training checkpoint is missing, corrupt or from another architecture."""


class ArtifactError(JerseyEdgeError):
    """Exported artifacts are missing, tampered with or inconsistent with the manifest."""


class BackendUnavailableError(JerseyEdgeError):
    """The requested inference backend (or its hardware) is not available here."""


class DegradedExportError(JerseyEdgeError):
    """An FP16 or INT8 graph pair misses its parity target; nothing was published.

    `details` carries what was measured (parity rows, INT8 report) so a caller can show it.
    """

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.details = details


class DegradedPrecisionWarning(UserWarning):
    """The loaded precision was exported with --accept-degraded: it misses its target."""
