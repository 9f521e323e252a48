"""One serialized engine run through the tensor-name API on a pycuda stream.

Supported: TensorRT 8.5 (JetPack 5.1) through 11.x, with pycuda for memory and streams.
Engines come from `jersey-edge build-engine` on the same device and TensorRT version;
manifest.json lists their sha256 like every other artifact.

Buffers are allocated once, at the optimisation profile's maximum shapes: pinned host
buffers (so copies are truly asynchronous) and device buffers whose addresses are bound to
the execution context up front. A call copies in, runs and copies out on one stream and
waits for it; a lock makes a session safe to share between threads.

Every CUDA call runs with the device's primary context pushed on the calling thread and
popped after, never a context made current on the creating thread only: so `run()` and
`close()` work from any thread, and a close from another thread frees the buffers in the
right context instead of leaking them. pycuda rather than NVIDIA's cuda-python (which its
samples use since TensorRT 10.14): the session needs a handful of driver calls that both
offer one for one, and pycuda builds from source on every JetPack, where cuda-python
needs the wheel matching each JetPack's CUDA major version.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from ....core.errors import ArtifactError, InputError
from ..base import Feed, Session, Shape
from . import compat

if TYPE_CHECKING:
    import tensorrt as trt

@dataclass
class _Tensor:
    """One engine input or output with its pinned host and device buffers."""

    name: str
    is_input: bool
    shape: Tuple[int, ...]  # as the engine declares it, -1 where dynamic
    batch_range: Tuple[int, int]  # (min, max) of the leading dimension under profile 0
    host: np.ndarray  # pinned, flat, sized for the profile maximum
    device: Any  # pycuda.driver.DeviceAllocation of the same size


@dataclass
class _Loaded:
    """Everything that lives in the CUDA context; dropped together by `close()`."""

    runtime: trt.Runtime
    engine: trt.ICudaEngine
    context: trt.IExecutionContext
    stream: Any  # pycuda.driver.Stream
    tensors: List[_Tensor]

    @property
    def inputs(self) -> List[_Tensor]:
        return [t for t in self.tensors if t.is_input]

    @property
    def outputs(self) -> List[_Tensor]:
        return [t for t in self.tensors if not t.is_input]


class TensorRTSession(Session):
    """One serialized engine, deserialized once, with buffers bound for the profile maximum."""

    backend = "tensorrt"

    def __init__(self, engine: bytes, *, name: str = "engine", device_id: int = 0) -> None:
        """`engine`: the verified bytes of an engine file (`Manifest.read`); `name` for messages."""
        compat.require_runtime()
        import pycuda.driver as cuda
        import tensorrt as trt

        cuda.init()
        device = cuda.Device(device_id)
        # TensorRT runs in the CUDA runtime's context, the device's primary one; pycuda
        # allocates in that same context so its pointers are valid for TensorRT.
        self._cuda_context: Any = device.retain_primary_context()
        self._lock = threading.Lock()
        self._recorder = compat.make_error_recorder()
        self.device = f"{device.name()} (TensorRT {trt.__version__})"
        self._cuda_context.push()
        try:
            state = self._load(engine, name)
        except BaseException:
            cuda.Context.pop()  # pop first: detach releases our hold on the primary context
            self._cuda_context.detach()
            raise
        cuda.Context.pop()
        self._state: Optional[_Loaded] = state

    def _load(self, serialized: bytes, name: str) -> _Loaded:
        import pycuda.driver as cuda
        import tensorrt as trt

        runtime = trt.Runtime(compat.process_logger())
        runtime.error_recorder = self._recorder  # the engine and its context inherit it
        engine = runtime.deserialize_cuda_engine(serialized)
        if engine is None:
            raise ArtifactError(
                f"{name} does not load with TensorRT {trt.__version__} on this GPU "
                f"({self._last_errors()}): engines are specific to a device and TensorRT "
                "version, rebuild it here with jersey-edge build-engine"
            )
        context = engine.create_execution_context()
        if context is None:  # out of device memory, most often
            raise ArtifactError(f"{name}: TensorRT could not create an execution context "
                                f"({self._last_errors()}); free GPU memory or use a smaller "
                                "max sequences when building the engine")
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        # With every input at its profile maximum, every output has its largest shape too.
        for name in inputs:
            context.set_input_shape(name, engine.get_tensor_profile_shape(name, 0)[2])
        tensors: List[_Tensor] = []
        try:
            for tensor_name in names:
                tensors.append(_allocate(engine, context, tensor_name, tensor_name in inputs))
            stream = cuda.Stream()
        except cuda.Error as exc:
            for tensor in tensors:
                tensor.device.free()
            raise ArtifactError(f"{name}: CUDA could not allocate the engine's buffers "
                                f"({exc})") from None
        return _Loaded(runtime, engine, context, stream, tensors)

    @property
    def closed(self) -> bool:
        return self._state is None

    @property
    def input_shapes(self) -> Dict[str, Shape]:
        return {t.name: t.shape for t in self._loaded().inputs}

    def max_batch(self) -> int:
        return min(t.batch_range[1] for t in self._loaded().inputs)

    def _run(self, feed: Feed) -> Dict[str, np.ndarray]:
        with self._lock:
            state = self._loaded()
            for tensor in state.inputs:
                low, high = tensor.batch_range
                if not low <= len(feed[tensor.name]) <= high:
                    raise InputError(
                        f"input {tensor.name!r} has batch {len(feed[tensor.name])}, this "
                        f"engine takes {low} to {high}: split the batch (see max_batch()) or "
                        "rebuild with more max sequences"
                    )
            import pycuda.driver as cuda

            self._cuda_context.push()
            try:
                return self._execute(state, feed)
            except cuda.Error as exc:  # a failed copy or synchronize: the GPU, not the input
                raise ArtifactError(f"CUDA failed while running the engine ({exc}; "
                                    f"{self._last_errors()})") from None
            finally:
                cuda.Context.pop()

    def _execute(self, state: _Loaded, feed: Feed) -> Dict[str, np.ndarray]:
        import pycuda.driver as cuda

        for tensor in state.inputs:
            array = feed[tensor.name]
            if not state.context.set_input_shape(tensor.name, array.shape):
                raise InputError(f"TensorRT refused input {tensor.name!r} of shape {array.shape}")
            staged = tensor.host[: array.size].reshape(array.shape)
            staged[...] = array  # casts to the engine's input type, e.g. float16
            cuda.memcpy_htod_async(tensor.device, staged, state.stream)
        results: Dict[str, np.ndarray] = {}
        for tensor in state.outputs:
            shape = compat.dims_tuple(state.context.get_tensor_shape(tensor.name))
            results[tensor.name] = tensor.host[: _volume(shape)].reshape(shape)
        if not state.context.execute_async_v3(state.stream.handle):
            raise ArtifactError(f"TensorRT failed to run the engine ({self._last_errors()})")
        for tensor in state.outputs:
            cuda.memcpy_dtoh_async(results[tensor.name], tensor.device, state.stream)
        state.stream.synchronize()
        # astype copies: the pinned buffers are overwritten by the next call
        return {name: view.astype(np.float32) for name, view in results.items()}

    def _loaded(self) -> _Loaded:
        if self._state is None:
            raise InputError("this TensorRT session is closed")
        return self._state

    def _last_errors(self) -> str:
        return "; ".join(self._recorder.messages()[-3:]) or "TensorRT reported no detail"

    def close(self) -> None:
        """Free device memory, the context and the engine, then release the CUDA context."""
        with self._lock:
            if self._state is None:
                return
            import pycuda.driver as cuda

            self._cuda_context.push()
            try:
                for tensor in self._state.tensors:
                    tensor.device.free()
                self._state = None  # TensorRT objects and pinned memory go while current
            finally:
                cuda.Context.pop()
                self._cuda_context.detach()


def _allocate(
    engine: trt.ICudaEngine, context: trt.IExecutionContext, name: str, is_input: bool
) -> _Tensor:
    """Buffers for `name` at the shape `context` holds (the profile maximum), bound to it."""
    import pycuda.driver as cuda
    import tensorrt as trt

    largest = compat.dims_tuple(context.get_tensor_shape(name))
    smallest = 1
    if is_input:
        smallest = compat.dims_tuple(engine.get_tensor_profile_shape(name, 0)[0])[0]
    dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
    host = cuda.pagelocked_empty(_volume(largest), dtype)
    device = cuda.mem_alloc(max(host.nbytes, 1))
    context.set_tensor_address(name, int(device))
    shape = compat.dims_tuple(engine.get_tensor_shape(name))
    return _Tensor(name, is_input, shape, (smallest, largest[0]), host, device)


def _volume(shape: Tuple[int, ...]) -> int:
    volume = 1
    for dim in shape:
        volume *= dim
    return volume
