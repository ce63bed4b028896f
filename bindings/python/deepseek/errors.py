"""Exceptions raised for the C ABI's ds_status codes; each carries the library's message."""


class DeepseekError(Exception):
    """A failed library call. `status` is the ds_status code, `str(e)` the library's message."""

    status = 7

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidArgumentError(DeepseekError, ValueError):
    status = 1


class NotFoundError(DeepseekError, FileNotFoundError):
    status = 2


class InvalidFormatError(DeepseekError):
    status = 3


class UnsupportedError(DeepseekError):
    status = 4


class OutOfMemoryError(DeepseekError, MemoryError):
    status = 5


class CancelledError(DeepseekError):
    status = 6


class InternalError(DeepseekError):
    status = 7


_BY_STATUS = {c.status: c for c in (InvalidArgumentError, NotFoundError, InvalidFormatError, UnsupportedError,
                                    OutOfMemoryError, CancelledError, InternalError)}


def error_for(status, message):
    """The exception for a non-zero ds_status with the library's message."""
    cls = _BY_STATUS.get(status, DeepseekError)
    return cls(message, status)
