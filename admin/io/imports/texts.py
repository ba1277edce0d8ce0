"""Import and export messages, keyed by code; their words are in the ``io`` catalog.

The worker stores codes (never sentences) in a job's result, so the page shows
each row error in the language of whoever reads it. The English texts below are
the msgids of ``admin/translations/<lang>/LC_MESSAGES/io.po`` (pybabel extracts
them through ``N_``/``P_``); Vietnamese and Thai come from the compiled ``.mo``.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
DOMAIN = "io"
LANGS = ("vi", "th", "en")


def N_(message: str) -> str:  # pybabel extracts it (-k N_)
    return message


def P_(context: str, message: str) -> tuple[str, str]:  # pybabel: -k P_:1c,2
    """A text whose English is shared with another meaning: translated in its context."""
    return (context, message)


TEXTS: dict[str, str] = {
    # file-level errors
    "not_spreadsheet": N_(
        "This file is not an Excel (.xlsx) or CSV file. Save it as .xlsx or .csv."
    ),
    "xls_old": N_("Excel 97-2003 (.xls) files are not supported. Open it and save as .xlsx."),
    "password_protected": N_(
        "The Excel file is password-protected. Remove the password and upload it again."
    ),
    "corrupt": N_("The Excel file is damaged or cannot be read."),
    "too_big": N_(
        "The file is too large once unpacked (possibly a zip bomb). Split it into smaller files."
    ),
    "encoding_unknown": N_(
        "The CSV file's encoding was not recognised. Pick the encoding or save it as UTF-8."
    ),
    "empty_file": N_("The file has no data."),
    "no_header": N_("No header row was found."),
    "changed_meanwhile": N_(
        "Customers changed during the import. Nothing was written; run it again."
    ),
    "internal": N_("Internal error. Nothing was written."),
    "worker_lost": N_("The worker stopped. Nothing was written; run it again."),
    # row-level errors
    "phone_invalid": N_("not a valid phone number"),
    "email_invalid": N_("not a valid email address"),
    "no_contact": N_("needs a phone number or an email address"),
    "date_invalid": N_("not a valid date (use dd/MM/yyyy)"),
    "number_invalid": N_("not a valid amount"),
    "too_long": N_("cell too long"),
    "duplicate_in_file": N_("same customer as row %(other)s of this file"),
}

# Page texts of the import and download pages.
PAGE: dict[str, str | tuple[str, str]] = {
    "import_title": N_("Import customers"),
    "formats": N_(
        "Supported: Excel (.xlsx) and CSV (UTF-8, UTF-16, Windows-1258, TIS-620); the "
        "Porchlight template, KiotViet, CukCuk, iPOS. Other files: pick the columns next. "
        "Up to 50 MB."
    ),
    "template": N_("Download the sample template"),
    "location": N_("Location"),
    "group": N_("Group"),
    "group_from_file": N_("From the file (no change)"),
    "file": P_("import form", "File"),
    "encoding": N_("Encoding (CSV)"),
    "auto": N_("Detect"),
    "upload": N_("Upload and check"),
    "dry_run_note": N_("Nothing has been written yet. Check the result, then confirm."),
    "checking": N_("Checking the file…"),
    "writing": N_("Importing…"),
    "queued": N_("Waiting for the worker…"),
    "rows": N_("Rows"),
    "add": N_("To add"),
    "merge": N_("To merge"),
    "skip": N_("To skip"),
    "added": N_("Added"),
    "merged": N_("Merged"),
    "skipped": N_("Skipped"),
    "layout": N_("Layout"),
    "row": N_("Row"),
    "column": N_("Column"),
    "problem": N_("Problem"),
    "value": N_("Value"),
    "more_errors": N_("And %(n)s more errors (the first %(shown)s are shown)."),
    "confirm": N_("Confirm the import"),
    "start_over": N_("Choose another file"),
    "done": N_("Import finished."),
    "failed": N_("The import failed."),
    "nothing_written": N_("Nothing was written."),
    "mapping_title": N_("Which column is which?"),
    "mapping_note": N_(
        "The layout was not recognised. Tell what each column holds (a phone or an email "
        "column is needed)."
    ),
    "ignore": N_("Ignore"),
    "check_again": N_("Check again"),
    "sample": N_("Example"),
    "downloads": N_("Downloads"),
    "time": N_("Time"),
    "status": N_("Status"),
    "expires": N_("Expires"),
    "download": N_("Download"),
    "all_downloads": N_("All downloads"),
    "file_col": N_("File"),
    "expired": N_("Expired"),
    "no_exports": N_("No exports yet. Export from the Customers page."),
    "imports": N_("Recent imports"),
    "exports": N_("Exports"),
    "st_queued": N_("Queued"),
    "st_running": N_("Running"),
    "st_done": N_("Ready"),
    "st_failed": N_("Failed"),
    "export_queued": N_("Exporting. You will see a notice when the file is ready under Downloads."),
    "export_ready": N_("Your export is ready (%(n)s customers)."),
    "nothing_selected": N_("No customers are selected."),
    "bad_export": N_("Bad export request."),
    "no_file": N_("Choose a file."),
    "customers": N_("customers"),
    "files": N_("files"),
    "kind_import": N_("Import"),
    "kind_export": N_("Export"),
    "mode_dry_run": N_("Check"),
    "mode_apply": N_("Import"),
    "import_link": N_("Import a file"),
    "preview_add": N_("The first %(n)s customers to add, as they will be saved"),
    "preview_merge": N_("The first %(n)s rows that join a customer you already have"),
    "joins": N_("Joins"),
    "merged_rows_title": N_("%(n)s rows are the same customer as an earlier row and merge into it"),
    "row_merged": N_("Row %(row)s merged into row %(into)s"),
    "warnings_title": N_("%(n)s fields left empty (the rows are imported without them)"),
}


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    if lang not in LANGS or lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, TRANSLATIONS, languages=[lang], fallback=True)


def _say(message: str | tuple[str, str], lang: str, params: dict[str, object]) -> str:
    if isinstance(message, tuple):
        found = translations(lang).pgettext(*message)
    else:
        found = translations(lang).gettext(message)
    return found % params if params else found


def text(code: str, lang: str = "en", **params: object) -> str:
    """The message for `code` in `lang` (vi/th/en), with `%(params)s` filled in."""
    message = TEXTS.get(code)
    if message is None:
        return code
    return _say(message, lang, params)


def in_all(message: str | tuple[str, str]) -> tuple[str, str, str]:
    """(vi, th, en) of a text, for tables that need every language at once: the
    importer recognises a header in any of them; an export writes the requester's."""
    english = message if isinstance(message, str) else message[1]
    return (_say(message, "vi", {}), _say(message, "th", {}), english)


def page_text(key: str, lang: str, **params: object) -> str:
    message = PAGE.get(key)
    if message is None:
        return text(key, lang, **params)
    return _say(message, lang, params)
