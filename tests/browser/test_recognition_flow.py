"""The learner brings a transfer record in a real browser, at a phone's 390 px in Chinese: she
uploads the file on the recognition page and sees what was recognised with its provenance;
a changed record is refused next to the field. axe-core finds nothing on either page."""

from __future__ import annotations

import pytest

from accreditation.models import Decision
from tests.browser.axe import axe_violations
from tests.browser.test_people_pages import (  # noqa: F401 (open_as: a fixture)
    NARROW_ROWS_JS,
    OVERFLOW_JS,
    check,
    open_as,
)
from tests.transfers.test_recognitions import served, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_learner_uploads_a_record_and_sees_what_was_recognised(
    open_as,  # noqa: F811
    world,  # noqa: F811
    served,  # noqa: F811
):
    page = open_as(world["account"].holder, "phone", "zh-hans")
    check(page, "/recognitions/")
    tampered = world["record"].replace(b'"120.0"', b'"920.0"', 1)
    page.set_input_files(
        "#id_file",
        files=[{"name": "record.json", "mimeType": "application/json", "buffer": tampered}],
    )
    page.get_by_label("领取码").fill(world["row"]["claim_code"])
    page.get_by_role("button", name="核验并互认").click()
    page.wait_for_load_state()
    assert "记录在签发银行签名后已被改动。" in page.locator(".field__errors").first.inner_text()
    assert not Decision.objects.filter(basis=Decision.Basis.RECOGNITION).exists()

    page.set_input_files(
        "#id_file",
        files=[{"name": "record.json", "mimeType": "application/json", "buffer": world["record"]}],
    )
    # The form keeps what she typed; a wrong code is refused next to its field, nothing booked.
    page.get_by_label("领取码").fill("0000-0000-0000-0000")
    page.get_by_role("button", name="核验并互认").click()
    page.wait_for_load_state()
    assert "记录和此领取码不属于您的账户。" in page.locator(".field__errors").first.inner_text()
    assert not Decision.objects.filter(basis=Decision.Basis.RECOGNITION).exists()
    page.set_input_files(
        "#id_file",
        files=[{"name": "record.json", "mimeType": "application/json", "buffer": world["record"]}],
    )
    page.get_by_label("领取码").fill(world["row"]["claim_code"])
    page.get_by_role("button", name="核验并互认").click()
    page.wait_for_url("**/recognitions/")
    result = page.get_by_test_id("recognition-result")
    assert result.is_visible()
    shown = result.inner_text()
    assert f"原决定 {world['decision'].pk}" in shown
    assert f"协议 CQ-ZG-001 第 {world['agreement'].version} 版" in shown
    assert Decision.objects.filter(basis=Decision.Basis.RECOGNITION).count() == 1

    assert page.evaluate(OVERFLOW_JS) == {"wide": [], "scrolls": False}
    assert page.evaluate(NARROW_ROWS_JS) == []
    assert axe_violations(page) == []
