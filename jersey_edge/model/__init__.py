"""EfficientNet-Lite0 frame encoder + padding-invariant temporal head, and their checkpoints.

Import from the submodules (`config`, `encoder`, `head`, `net`, `pretrained`): this package
file stays empty so that `jersey_edge.model.config` is importable without torch and timm.
"""
