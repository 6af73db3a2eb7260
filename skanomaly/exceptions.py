"""Exceptions raised by skanomaly."""


class TrainingDivergedError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite.

    It is a :class:`FloatingPointError`, so ``except ArithmeticError`` catches it too.
    """


__all__ = ["TrainingDivergedError"]
