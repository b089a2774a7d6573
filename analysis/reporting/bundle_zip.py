"""The zip container of a researcher bundle: every byte outside the files' contents.

The manifest's SHA-256 values cover the files' contents; :func:`container_problems` covers
the rest of the zip (entry records, local headers, the compressed streams' ends, the
central directory and its end record), checking that each is exactly as the export writes
it, so that a changed byte anywhere in the file is refused. Known limit: deflate has a
little redundancy (e.g. code lengths of symbols a block never uses), so a few bit
patterns change the compressed bytes without changing the file they decode to; nothing
the manifest covers can change that way.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

__all__ = ["container_problems", "undated_xlsx"]

#: What a workbook's created/modified properties say (a bundle carries no date).
XLSX_DATE = "1980-01-01T00:00:00Z"
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")

#: How the export writes every zip entry (fixed date: a bundle carries no date).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ENTRY = {"date_time": _ZIP_DATE, "compress_type": zipfile.ZIP_DEFLATED, "extra": b"",
          "comment": b"", "internal_attr": 0, "external_attr": 0o600 << 16, "volume": 0,
          "create_version": 20, "extract_version": 20}
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
#: End of central directory: signature, disk numbers, entry counts, size, offset, comment length.
_END_RECORD = struct.Struct("<4s4H2LH")


def container_problems(data: bytes, archive: zipfile.ZipFile) -> list[str]:
    """Zip bytes outside the files' contents that differ from what the export writes.

    Contents are checked by CRC-32 and the manifest's SHA-256; this covers the rest, so
    that any changed byte of the file is found: each entry's central record is as the
    export writes it, its local header repeats it, and no byte lies outside the entries,
    the central directory and its end record.
    """
    problems, position = [], 0
    for info in archive.infolist():
        odd = [name for name, value in _ENTRY.items() if getattr(info, name) != value]
        if info.create_system not in (0, 3) or info.flag_bits & ~0x800:
            odd.append("create_system/flags")
        local = _LOCAL_HEADER.unpack_from(data, info.header_offset)
        expected = (b"PK\x03\x04", info.extract_version, info.reserved, info.flag_bits,
                    info.compress_type, *_dos_time(info.date_time), info.CRC, info.compress_size,
                    info.file_size, len(info.orig_filename.encode("utf-8")), 0)
        if info.header_offset != position or local != expected:
            odd.append("local header")
        start = info.header_offset + _LOCAL_HEADER.size + local[10] + local[11]
        position = start + info.compress_size
        if not _complete_deflate(data[start:position], info.file_size):
            odd.append("compressed data")
        if odd:
            problems.append(f"{info.filename}: zip entry altered ({', '.join(odd)})")
    problems += _directory_problems(data, archive)
    end = data[-_END_RECORD.size:]
    entries = len(archive.infolist())
    if archive.comment or position != archive.start_dir or len(end) != _END_RECORD.size or \
            _END_RECORD.unpack(end)[:5] != (b"PK\x05\x06", 0, 0, entries, entries) or \
            _END_RECORD.unpack(end)[7] != 0:
        problems.append("the zip's directory was altered (bytes outside the bundle's files)")
    return problems


def _directory_problems(data: bytes, archive: zipfile.ZipFile) -> list[str]:
    """Each central record's length fields, walked record by record (zipfile reads the
    directory from a copy cut at its size, so a changed length of the last record's name
    would otherwise go unseen)."""
    position = archive.start_dir
    for info in archive.infolist():
        if data[position:position + 4] != b"PK\x01\x02":
            return ["the zip's directory was altered (a record is out of place)"]
        lengths = struct.unpack_from("<3H", data, position + 28)
        if lengths != (len(info.orig_filename.encode("utf-8")), 0, 0):
            return [f"{info.filename}: zip directory record altered (lengths)"]
        position += 46 + sum(lengths)
    return [] if data[position:position + 4] == b"PK\x05\x06" else [
        "the zip's directory was altered (bytes after the last record)"]


def _complete_deflate(raw: bytes, size: int) -> bool:
    """The compressed bytes form one complete deflate stream, used to its last byte.

    zipfile stops reading once it has the file's bytes, so a changed end-of-stream
    marker would otherwise pass unseen.
    """
    engine = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = engine.decompress(raw)
    except zlib.error:
        return False
    return engine.eof and not engine.unused_data and len(out) == size


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day)


def undated_xlsx(data: bytes) -> bytes:
    """The workbook with no export time in it: openpyxl stamps ``created``/``modified``
    (docProps/core.xml) and the zip entries with the clock; both become fixed, so the same
    data give the same bytes (and the same manifest hashes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>" + XLSX_DATE.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
    return out.getvalue()
