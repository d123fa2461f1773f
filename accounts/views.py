from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from .forms import RegistrationForm
from .services import personal_account_register


@sensitive_post_parameters("id_number", "password1", "password2")
def register(request: HttpRequest) -> HttpResponse:
    """Open a personal learning account online; the lifelong learning file comes with it."""
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = personal_account_register(
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"],
                email=data["email"],
                password=data["password1"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("password1" if field == "password" else field, errors)
        else:
            login(request, account.holder, backend="accounts.backends.IdentifierBackend")
            messages.success(
                request,
                _(
                    "Your learning account %(number)s is open. Sign in with this number, "
                    "your email or your phone."
                )
                % {"number": account.number},
            )
            return redirect("learning-file")
    return render(request, "accounts/register.html", {"form": form})
