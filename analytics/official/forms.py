"""Upload forms of the official-statistics pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.scoping import administered

from ..models.official import OfficialImport

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File (CSV, XLSX, SDMX-CSV or SDMX-ML)"))
    dataset_code = forms.CharField(
        label=_("Dataset code"), required=False, max_length=80, help_text=_("Empty: taken from the file name.")
    )
    dataset_name = forms.CharField(label=_("Dataset name"), required=False, max_length=200)
    format = forms.ChoiceField(
        label=_("Format"), required=False, choices=[("", _("Detect"))] + list(OfficialImport.Format.choices)
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class GroupUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file: scheme, group_code, country, label"))
    programme = forms.ModelChoiceField(queryset=None, required=False, label=_("Programme"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["programme"].queryset = administered(user)
        if not user.is_superuser:
            self.fields["programme"].required = True
            self.fields["programme"].empty_label = None
        else:
            self.fields["programme"].empty_label = _("Platform-wide")
