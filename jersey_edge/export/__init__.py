"""ONNX export: FP32/FP16/INT8-QDQ graphs, calibration, golden outputs, parity, manifest.

Entry point: `pipeline.export_model(checkpoint, out, options=ExportOptions(...))` ->
`pipeline.ExportReport`; `verify.render_parity` gives the table the CLI prints.
"""
