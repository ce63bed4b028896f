"""Python binding of the deepseek inference library (ctypes over the C ABI in deepseek/c_api.h).

    import deepseek
    model = deepseek.Model("path/to/model")
    print(model.generate("Hello", max_tokens=16).text)
"""
from ._lib import library_path, version
from .errors import (CancelledError, DeepseekError, InternalError, InvalidArgumentError, InvalidFormatError,
                     NotFoundError, OutOfMemoryError, UnsupportedError)
from .model import GenerateResult, Model, ModelInfo, MtpStats, Piece

__all__ = [
    "Model", "ModelInfo", "Piece", "GenerateResult", "MtpStats", "version", "library_path", "DeepseekError",
    "InvalidArgumentError", "NotFoundError", "InvalidFormatError", "UnsupportedError", "OutOfMemoryError",
    "CancelledError", "InternalError",
]
__version__ = "0.1.0"
