"""The download and upload helpers of layer 0."""

from __future__ import annotations

from common.downloads import MAX_UPLOAD_BYTES
from common.tables import MAX_FILE_BYTES


def test_an_upload_is_read_up_to_the_limit_of_the_spreadsheet_reader():
    # common cannot import the reader's constant (layer 0 imports no app): the two must agree,
    # or a file the reader would take is cut short before it gets there.
    assert MAX_UPLOAD_BYTES == MAX_FILE_BYTES
