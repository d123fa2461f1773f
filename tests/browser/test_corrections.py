import pytest
from playwright.sync_api import expect

from accounts.models import CorrectionRequest
from tests.accounts.factories import UserFactory
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.people import LEARNER_PASSWORD, PASSWORD, RESIDENT, learner_register, otp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Account number, email or mobile phone").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def test_a_learner_asks_to_correct_an_accredited_outcome_and_a_reviewer_accepts_it(page, reviewer):
    account = learner_register(name="邵涛涛", id_number=RESIDENT, phone="13800000003")
    decider = UserFactory(role="centre_reviewer", centre=reviewer.centre)
    outcome = accredited_outcome(account, catalogue_version(), decider)
    page.goto("/login/")
    page.get_by_role("button", name="English").click()

    # The learner, from the outcome's page.
    sign_in(page, account.number, LEARNER_PASSWORD)
    page.goto(f"/outcomes/{outcome.pk}/")
    page.get_by_role("link", name="Ask a centre to correct it").click()
    main = page.get_by_role("main")
    expect(main.get_by_test_id("recorded-values")).to_contain_text(outcome.issuing_body)
    main.get_by_label("What to correct").select_option(label="Hours or credits accredited")
    main.get_by_label("Correct value").fill("12")
    main.get_by_label("Reason").fill("Too few")
    main.get_by_role("button", name="Send").click()
    expect(main).to_contain_text("revoke the accreditation")
    main.get_by_label("What to correct").select_option(label="Issuing body")
    main.get_by_label("Correct value").fill("重庆市教育委员会办公室")
    main.get_by_label("Reason").fill("The certificate names the office")
    main.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your request has been sent to a centre.")).to_be_visible()
    assert CorrectionRequest.objects.get().status == "pending"
    page.get_by_role("button", name="Sign out").click()

    # The reviewer accepts it.
    sign_in(page, "rita@example.cn", PASSWORD)
    page.get_by_label("6-digit code from your authenticator app").fill(otp_code(reviewer))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("navigation").get_by_role("link", name="Correction requests").click()
    request = page.get_by_role("main").get_by_role("article")
    expect(request).to_contain_text(outcome.title)
    expect(request).to_contain_text("重庆市教育委员会办公室")
    request.get_by_label("Decision").select_option(label="Accept")
    request.get_by_label("Reason").fill("Seen the original")
    request.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The decision is recorded.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # The learner is told, and sees the corrected fact and the old value in the requests.
    sign_in(page, account.number, LEARNER_PASSWORD)
    expect(page.get_by_test_id("unread-count")).to_have_text("1")
    page.get_by_test_id("notifications-link").click()
    expect(page.get_by_role("main")).to_contain_text("Correction accepted")
    page.goto(f"/outcomes/{outcome.pk}/")
    expect(page.get_by_role("main")).to_contain_text("重庆市教育委员会办公室")
    page.goto("/account/corrections/")
    expect(page.get_by_role("main")).to_contain_text(outcome.issuing_body)
    expect(page.get_by_role("main")).to_contain_text("Accepted")
