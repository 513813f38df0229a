"""Saved recordings: a database of `.mavrec.jsonl` runs behind `/recordings`, for share links."""

from .routes import recordings_router
from .settings import RecordingSettings
from .store import RecordingStore
from .validate import RecordingSummary, check_recording

__all__ = ["RecordingSettings", "RecordingStore", "RecordingSummary", "check_recording", "recordings_router"]
