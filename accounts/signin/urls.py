"""Registration, contact details, the second factor and password pages. Sign-in and sign-out
themselves are mounted by creditbank (the portal's own login page)."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.utils.translation import gettext_lazy

from accounts.signin import views
from accounts.signin.forms import PasswordSetupOrResetForm
from accounts.signin.views import form_page, message_page

urlpatterns = [
    path("register/", views.register, name="register"),
    path("account/details/", views.contact_details, name="contact-details"),
    path("mfa/setup/", views.mfa_setup, name="mfa-setup"),
    path("mfa/verify/", views.mfa_verify, name="mfa-verify"),
    path(
        "password/reset/",
        form_page(
            auth_views.PasswordResetView,
            gettext_lazy("Reset your password"),
            gettext_lazy(
                "Enter the email address of your learning account. We will send you a link to "
                "choose a new password."
            ),
            gettext_lazy("Send the link"),
            form_class=PasswordSetupOrResetForm,
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path("password/reset/sms/", views.password_reset_sms, name="password_reset_sms"),
    path(
        "password/reset/sms/code/",
        views.password_reset_sms_confirm,
        name="password_reset_sms_confirm",
    ),
    path(
        "password/reset/sent/",
        message_page(
            auth_views.PasswordResetDoneView,
            gettext_lazy("Check your email"),
            gettext_lazy(
                "If an account uses that address, a link to choose a new password is on its "
                "way. It works once and for three days."
            ),
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        form_page(
            auth_views.PasswordResetConfirmView,
            gettext_lazy("Choose a new password"),
            gettext_lazy("Signing in everywhere else ends when you change the password."),
            gettext_lazy("Save the new password"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        message_page(
            auth_views.PasswordResetCompleteView,
            gettext_lazy("Password changed"),
            gettext_lazy("Your new password is saved. You can sign in with it now."),
        ),
        name="password_reset_complete",
    ),
    path(
        "password/change/",
        form_page(
            auth_views.PasswordChangeView,
            gettext_lazy("Change your password"),
            gettext_lazy("Signing in everywhere else ends when you change the password."),
            gettext_lazy("Save the new password"),
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        message_page(
            auth_views.PasswordChangeDoneView,
            gettext_lazy("Password changed"),
            gettext_lazy("Your new password is saved."),
        ),
        name="password_change_done",
    ),
]
