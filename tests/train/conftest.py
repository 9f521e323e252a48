from dataclasses import replace

import pytest

from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.model.config import ModelConfig
from jersey_edge.train.config import preset

TINY_MODEL = ModelConfig(pretrained=False, embed_dim=32, hidden=16, attn_dim=8)
TINY_PREPROCESS = PreprocessConfig(height=64, width=32)


@pytest.fixture
def tiny_train_config():
    """Two fast epochs on 64x32 frames, T=4: seconds, not minutes."""
    return replace(preset("demo"), epochs=2, batch_size=4, max_frames=4, train_frames=4,
                   warmup_epochs=1, workers=0, amp=False)
