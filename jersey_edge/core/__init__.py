"""The torch-free base every side imports: errors, labels, preprocessing, sampling, file
writes, sequence folders and metrics.

Nothing here imports torch, onnx or an inference library, so training, export, the
benchmark and the device runtime all share one definition of each of these ideas.
"""
