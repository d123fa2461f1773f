"""What the pages that keep a table through spreadsheets share: submitting a form to a service
(an import's refusal shown row by row), the export as a download, and a management page with an
import form and a form that publishes one row.

Layer 0: no app's words here. Which service runs, who may open the page, what the rows say and
the texts shown belong to the app's view; this module only keeps the steps that were written
alike in each of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from .downloads import (
    EXPORT_FORMATS,
    SpreadsheetImportForm,
    file_download,
    import_message,
    row_errors_context,
    upload_read,
)
from .forms import form_errors_apply
from .tables import RowError, RowsInvalid

T = TypeVar("T")


def form_submit(
    form: forms.BaseForm, run: Callable[[dict[str, Any]], T]
) -> tuple[T | None, list[RowError]]:
    """Run ``run`` with the form's cleaned input if the form is valid, and say what came of it:
    the service's answer, or ``None`` with the refusal put on the form. A file refused for its
    rows lands on the ``file`` field and every problem is returned, for the page's table; any
    other refusal lands on the fields it names (or the top of the form)."""
    if not form.is_valid():
        return None, []
    try:
        return run(form.cleaned_data), []
    except RowsInvalid as exc:
        form.add_error("file", exc.message_dict["file"])
        return None, exc.rows
    except ValidationError as exc:
        form_errors_apply(form, exc)
        return None, []


def export_download(export: Callable[..., bytes], *, fmt: str, stem: str) -> HttpResponse:
    """The export in the format named by the URL (404 for any other) as a dated attachment."""
    if fmt not in EXPORT_FORMATS:
        raise Http404
    return file_download(export(fmt=fmt), fmt=fmt, stem=stem)


class ImportPublishPage(View):
    """A page that keeps a versioned table: one form imports a whole file, the other publishes
    one row; the POST says which with ``action``. Each import or publication that succeeds
    redirects, so that reloading the page does not send it again.

    A subclass names its template, its publish form, where to go back to and its two services:
    ``importer`` (called with ``data``, ``filename`` and ``actor``, answering with the counts
    that ``import_message`` shows) and ``publisher`` (called with the form's ``fields`` and
    ``actor``, answering with what it published and how); and it says what was published in
    :meth:`published`."""

    template_name: str
    url_name: str
    publish_form_class: type[forms.Form]
    importer: Callable[..., Any]
    publisher: Callable[..., tuple[Any, Any]]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, import_form=SpreadsheetImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") == "publish":
            return self.publish(request)
        return self.import_file(request)

    def import_file(self, request: HttpRequest) -> HttpResponse:
        form = SpreadsheetImportForm(request.POST, request.FILES)
        result, row_errors = form_submit(
            form,
            lambda cleaned: self.import_run(
                request,
                data=upload_read(cleaned["file"]),
                filename=cleaned["file"].name or "",
            ),
        )
        if result is not None:
            messages.success(request, import_message(result))
            return redirect(self.url_name)
        return self.render(request, import_form=form, row_errors=row_errors)

    def publish(self, request: HttpRequest) -> HttpResponse:
        form = self.publish_form_class(request.POST)
        published, _rows = form_submit(form, lambda cleaned: self.publish_run(request, cleaned))
        if published is not None:
            return self.published(request, published)
        return self.render(request, import_form=SpreadsheetImportForm(), publish_form=form)

    def render(
        self,
        request: HttpRequest,
        *,
        import_form: forms.Form,
        publish_form: forms.Form | None = None,
        row_errors: list[RowError] | None = None,
    ) -> HttpResponse:
        if publish_form is None:
            publish_form = self.publish_form_class(initial=self.publish_initial(request))
        context = {
            **self.page_context(request),
            "import_form": import_form,
            "publish_form": publish_form,
            **row_errors_context(row_errors or []),
        }
        return render(request, self.template_name, context)

    # --- What each page fills in -------------------------------------------------------------

    def import_run(self, request: HttpRequest, *, data: bytes, filename: str) -> Any:
        return self.importer(data=data, filename=filename, actor=request.user)

    def publish_run(self, request: HttpRequest, cleaned: dict[str, Any]) -> Any:
        published, _how = self.publisher(fields=cleaned, actor=request.user)
        return published

    def published(self, request: HttpRequest, published: Any) -> HttpResponse:
        """Say what was published, and where to go next."""
        raise NotImplementedError

    def publish_initial(self, request: HttpRequest) -> dict[str, Any]:
        """What a blank publish form starts with."""
        return {}

    def page_context(self, request: HttpRequest) -> dict[str, Any]:
        """What else the page shows besides its two forms."""
        return {}
