import logging
import re

# 18-character ID numbers and 11-digit mobile numbers, not inside longer digit runs.
_ID = re.compile(r"(?<![\d.])([1-9]\d{5})(?:18|19|20)\d{6}(\d{3}[\dXx])(?![\dXx])")
_MOBILE = re.compile(r"(?<![\d.])(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    return _MOBILE.sub(r"\1****\2", _ID.sub(r"\1********\2", text))


class MaskPersonalDataFilter(logging.Filter):
    """Last line of defence: no full ID or phone number reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
