"""Forms of the work-obligation pages. They only collect input: the checks that matter are the
services' (``episode_values``, ``pause_record``), whose messages are shown on the field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Episode, ObligationImport, ObligationPause
from .vocabularies.geography import region_choices

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = (".pdf", ".jpg", ".jpeg", ".png")


class DateInput(forms.DateInput):
    input_type = "date"


class EpisodeForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=Episode.Kind.choices)
    start = forms.DateField(label=_("From"), widget=DateInput)
    end = forms.DateField(label=_("Until (empty while it lasts)"), required=False, widget=DateInput)
    country = forms.CharField(label=_("Country (ISO code, e.g. KAZ)"), max_length=3, initial="KAZ")
    region = forms.ChoiceField(label=_("Region of Kazakhstan"), required=False)
    employer = forms.CharField(label=_("Employer"), max_length=200, required=False)
    specialty_related = forms.NullBooleanField(
        label=_("Work in your specialty?"),
        required=False,
        widget=forms.Select(choices=[("unknown", _("Not said")), ("true", _("Yes")), ("false", _("No"))]),
    )
    document = forms.FileField(
        label=_("Document (contract, employer's letter; PDF or image, up to 10 MB)"), required=False
    )

    def __init__(self, *args, language: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—"), *region_choices(language)]

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document is None:
            return None
        if document.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(_("The document is larger than 10 MB."))
        if not document.name.lower().endswith(DOCUMENT_TYPES):
            raise forms.ValidationError(_("Upload a PDF, JPEG or PNG file."))
        return document


class PauseForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=ObligationPause.Kind.choices)
    start = forms.DateField(label=_("From"), widget=DateInput)
    end = forms.DateField(label=_("Until (a deferral ends)"), required=False, widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    evidence = forms.FileField(label=_("Evidence (PDF or image)"), required=False)

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence is not None and (
            evidence.size > MAX_DOCUMENT_BYTES or not evidence.name.lower().endswith(DOCUMENT_TYPES)
        ):
            raise forms.ValidationError(_("Upload a PDF, JPEG or PNG file of up to 10 MB."))
        return evidence


class ImportForm(forms.Form):
    programme = forms.ChoiceField(label=_("Programme"))
    kind = forms.ChoiceField(label=_("List"), choices=ObligationImport.Kind.choices)
    file = forms.FileField(label=_("File (.csv in UTF-8 or Windows-1251, or .xlsx)"))

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = [(p.slug, p.local_name) for p in programmes]


class EmployerRequestForm(forms.Form):
    email = forms.EmailField(label=_("Employer's e-mail address"))


class EmployerAnswerForm(forms.Form):
    start = forms.DateField(label=_("Worked from"), widget=DateInput)
    end = forms.DateField(label=_("Until (empty if still employed)"), required=False, widget=DateInput)
    employer = forms.CharField(label=_("Employer"), max_length=200, required=False)
    specialty_related = forms.NullBooleanField(
        label=_("Is the work in the person's specialty?"),
        required=False,
        widget=forms.Select(choices=[("unknown", _("Not said")), ("true", _("Yes")), ("false", _("No"))]),
    )
