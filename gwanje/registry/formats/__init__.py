"""Camera-list formats: import of 전국CCTV표준데이터 and Seoul's 안심이 list, export as the standard
format, GeoJSON or a flat CSV. The command line (`gwanje import-cameras`, `gwanje export-cameras`)
and the web import both call `import_cameras` / `export_cameras`."""

from gwanje.registry.formats.common import ENCODINGS, FormatError, RowIssue
from gwanje.registry.formats.importer import ImportOptions, ImportReport, check_file, import_cameras

IMPORT_FORMATS = ("standard", "seoul-ansim")

__all__ = [
    "ENCODINGS",
    "IMPORT_FORMATS",
    "FormatError",
    "ImportOptions",
    "ImportReport",
    "RowIssue",
    "check_file",
    "import_cameras",
]
