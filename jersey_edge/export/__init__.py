"""ONNX export: FP32/FP16/INT8-QDQ graphs, calibration, golden outputs, parity, manifest.

Entry point: `pipeline.export_model(checkpoint, out, options=ExportOptions(...))` ->
`report.ExportReport`; `report.render_parity` gives the table the CLI prints.
"""
