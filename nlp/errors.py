"""One catalogue of user-facing errors and quarantine reasons, each with a code and what to do."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why an input was quarantined. The value is the code stored in `quarantine.reason_code`."""

    UNREADABLE_FILE = "Q100"
    UNDECODABLE = "Q101"
    MALFORMED_ROW = "Q102"
    INVALID_JSON = "Q103"
    MISSING_FIELD = "Q104"
    EMPTY_TEXT = "Q105"
    BAD_TIMESTAMP = "Q106"
    FUTURE_TIMESTAMP = "Q107"
    NO_CUSTOMER_TURN = "Q108"
    BAD_SEGMENT_TIMES = "Q109"
    NOT_AN_OBJECT = "Q110"


REASON_TEXT: dict[Reason, str] = {
    Reason.UNREADABLE_FILE: "file could not be opened or parsed at all",
    Reason.UNDECODABLE: "bytes could not be decoded as UTF-8 or GB18030",
    Reason.MALFORMED_ROW: "CSV/XLSX row does not match the header (wrong number of fields)",
    Reason.INVALID_JSON: "not valid JSON",
    Reason.MISSING_FIELD: "a required field is missing",
    Reason.EMPTY_TEXT: "text is empty or whitespace only",
    Reason.BAD_TIMESTAMP: "timestamp could not be parsed",
    Reason.FUTURE_TIMESTAMP: "timestamp lies in the future of the run date",
    Reason.NO_CUSTOMER_TURN: "conversation has no customer turn with text",
    Reason.BAD_SEGMENT_TIMES: "transcript segment ends before it starts",
    Reason.NOT_AN_OBJECT: "expected a JSON object",
}


class VocError(Exception):
    """A user-facing error: `code` identifies it, the message says what to do."""

    code = "E000"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.code}: {message}")


class ConfigError(VocError):
    """Configuration file missing or invalid; the message names the file and the key."""

    code = "E001"


class TaxonomyError(VocError):
    """The journey taxonomy cannot be used as written."""

    code = "E002"


class ModelNotFoundError(VocError):
    """A configured model directory or artifact is missing."""

    code = "E003"


class MissingDependencyError(VocError):
    """An optional backend needs a package that is not installed."""

    code = "E004"

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs the package '{package}': pip install {package}")


class SourceUnavailableError(VocError):
    """An input source could not be reached after retries."""

    code = "E005"


class NoRunError(VocError, LookupError):
    """The sink holds no rows for the requested run date (e.g. `voc report` before `voc run`)."""

    code = "E006"
