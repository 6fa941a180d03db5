"""Exceptions a user or a peer can cause. Each message says what went wrong and where."""


class TastevecError(Exception):
    """Base of every error caused by input; CLIs print it on one line and exit non-zero."""


class ImageError(TastevecError):
    """An image file could not be read or decoded."""


class BackboneError(TastevecError):
    """A backbone or its weights could not be created or loaded."""


class TaskVectorError(TastevecError):
    """Task vectors that do not fit together, or a task-vector file that cannot be read."""


class CompositionError(TastevecError):
    """Coefficients or task vectors that do not fit the model they are composed onto."""


class MetricError(TastevecError):
    """Inputs on which a metric is not defined (too few items, NaN, mismatched lengths)."""


class DatasetError(TastevecError):
    """A database file that cannot be read as its format says (names the file and line)."""


class ReleaseError(TastevecError):
    """A release that cannot be trusted or read: bad signature, changed blob, malformed manifest."""


class KeyFileError(TastevecError):
    """A key file that is missing, malformed, of the wrong type or too open."""


class RatingsError(TastevecError):
    """A ratings database or ratings file that cannot be used (names the file, row or image)."""


class ProfileError(TastevecError):
    """A personal profile that is missing, unreadable or made for another release."""


class FitError(TastevecError):
    """Ratings that cannot support the fit asked for (too few, or all the same)."""


class HomeError(TastevecError):
    """A person's tastevec home that cannot be used: a file, not creatable, nowhere to put it."""


class PageError(TastevecError):
    """A request the person's local page cannot serve: a folder or photo that is not theirs."""


class StatisticsError(TastevecError):
    """Shared statistics that cannot be sent or read back as they are (secure aggregation)."""
