from tests.accounts.sms import sms_outbox  # noqa: F401 - fixture
