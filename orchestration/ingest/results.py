"""What ingestion returns and raises."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


class ReferenceDataError(ValueError):
    """An invalid reference file. The message names the file (relative path), the row (1-based
    data row) or YAML key path, and the problem. Raised before anything is written."""


class FileRejected(ValueError):
    """A file that cannot be read as a whole (encoding, size, format, schema). The loader
    records it in the manifest as ``rejected`` (one quarantined unit) and goes on with the
    next file. ``row`` is the first offending row (1-based line or row) when known."""

    def __init__(self, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


class IngestError(RuntimeError):
    """A file could not be loaded consistently (e.g. its batch summary failed validation).
    The file's transaction is rolled back, so the warehouse is as it was before that file."""


@dataclass(frozen=True)
class FileLoad:
    """One per file considered. ``skipped`` files were loaded before (same path and content
    hash): their counts here are 0 and ``batch_id`` is the batch that loaded them.

    Counting unit (``raw_rows``): a usage line/row; a JSON page's bucket *result*; a CSV data
    row; a FOCUS row; a reference row (YAML: meter / plan version / rule). Empty buckets of
    provider pages and dashboard CSVs carry no data: they are not rows (``empty_buckets`` counts
    them). Always ``raw_rows = loaded_rows + duplicate_rows + quarantined_rows``."""

    source: str
    table_name: str
    file_path: str
    batch_id: int | None
    skipped: bool
    raw_rows: int
    loaded_rows: int
    duplicate_rows: int
    quarantined_rows: int
    conflict_rows: int
    empty_buckets: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict, compare=False)
    # set when the file was rejected as a whole (raw_rows = quarantined_rows = 1)
    rejected_reason: str | None = None
    # a loaded file's notice (e.g. rows with none of their meters' quantity fields)
    warning: str | None = None


@dataclass(frozen=True)
class IngestResult:
    files: list[FileLoad]

    def __str__(self) -> str:
        by_table: dict[str, list[int]] = {}
        reasons: Counter[str] = Counter()
        skipped = 0
        for f in self.files:
            if f.skipped:
                skipped += 1
                continue
            row = by_table.setdefault(f.table_name, [0, 0, 0, 0, 0, 0])
            for i, n in enumerate(
                (
                    1,
                    f.raw_rows,
                    f.loaded_rows,
                    f.duplicate_rows,
                    f.quarantined_rows,
                    f.conflict_rows,
                )
            ):
                row[i] += n
            reasons.update(f.quarantine_reasons)
        head = ("table", "files", "raw", "loaded", "duplicates", "quarantined", "conflicts")
        lines = [head] + [(t, *map(str, v)) for t, v in sorted(by_table.items())]
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        out = [
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in lines
        ]
        out.append(f"files skipped (already loaded): {skipped}")
        rejected = [f for f in self.files if not f.skipped and f.rejected_reason]
        if rejected:
            out.append(f"files rejected (retried when their bytes change): {len(rejected)}")
            out += [f"  {f.file_path}: {f.rejected_reason}" for f in rejected]
        warned = [f for f in self.files if not f.skipped and f.warning]
        if warned:
            out.append("files with warnings:")
            out += [f"  {f.file_path}: {f.warning}" for f in warned]
        if reasons:
            out.append("quarantined by reason:")
            out += [f"  {code}: {n}" for code, n in sorted(reasons.items())]
        return "\n".join(out)
