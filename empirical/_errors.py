"""Exception and warning classes shared by ``empirical.rcc`` and ``empirical.bitstream``."""


class BitstreamError(ValueError):
    """A stream or segment that cannot be decoded: wrong magic/version/hash, corrupted header, lengths or payload."""


class BitstreamTruncatedWarning(UserWarning):
    """The stream ends inside a segment; only the complete prefix of whole steps was decoded."""
