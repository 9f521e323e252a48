"""INT8 export: calibration, the per-target QDQ schemes and the recipe that builds them.

`build.build_int8` is the entry point export calls; the other modules are its steps.
Kept import-light (no onnx/onnxruntime here) so `calibration`'s options load fast.
"""
